"""Encoder tokenizers without transformers at start-up: transformers' own, saved once, run by tokenizers.

transformers builds its tokenizer from the model's files (and in doing so may differ from the model's own
``tokenizer.json``, e.g. in how runs of spaces are split); the torch models use that one, so the ONNX ones
must too. Building it imports torch and transformers and converts the vocabulary, most of a model's start-up
time: it is done once, and the result saved as a ``tokenizer.json`` next to the ONNX model (per transformers
version), which the ``tokenizers`` library then loads alone. :class:`EncoderTokenizer` serves the embedder
(one text per row), :class:`PairTokenizer` a cross-encoder (two texts per row).
"""

from __future__ import annotations

import json
import os
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np


class EncoderTokenizer:
    """Token ids, counts and character spans as the encoder sees them (as transformers' tokenizer gives them).

    Args:
        encoder_dir: the Hugging Face encoder folder.
        cache_dir: where the saved tokenizer lives (the ONNX model's folder).
    """

    def __init__(self, encoder_dir: Path, cache_dir: Path):
        self._tok, facts = _load_saved(encoder_dir, cache_dir)
        self.pad_id, self.model_max_length = int(facts["pad_id"]), facts["model_max_length"]
        # The special tokens around one text (e.g. <s> ... </s>): a cut text keeps them.
        plain = self._tok.encode("a", add_special_tokens=False).ids
        full = self._tok.encode("a", add_special_tokens=True).ids
        at = next(i for i in range(len(full) - len(plain) + 1) if full[i : i + len(plain)] == plain)
        self._prefix, self._suffix = full[:at], full[at + len(plain) :]

    def batch(self, texts: list[str], max_length: int) -> tuple[np.ndarray, np.ndarray]:
        """Ids and attention mask of a batch, padded to its longest text and cut to ``max_length`` tokens.

        Args:
            texts: the texts (prompt included).
            max_length: most tokens per text, special tokens included.

        Returns:
            (input_ids, attention_mask), int64 arrays of shape (n, longest).
        """
        room = max(0, max_length - len(self._prefix) - len(self._suffix))
        rows = [
            self._prefix + enc.ids[:room] + self._suffix
            for enc in self._tok.encode_batch(texts, add_special_tokens=False)
        ]
        return pad_rows(rows, self.pad_id)

    def counts(self, texts: list[str]) -> np.ndarray:
        """Token counts with special tokens, uncut."""
        return np.array([len(e.ids) for e in self._tok.encode_batch(texts, add_special_tokens=True)], np.int64)

    def spans(self, text: str) -> list[tuple[int, int]]:
        """Character (start, end) of each token of ``text``, no special tokens."""
        return [tuple(span) for span in self._tok.encode(text, add_special_tokens=False).offsets]


class PairTokenizer:
    """Token ids of text pairs (``<s> a </s></s> b </s>``) as transformers' tokenizer gives them, cut longest first.

    Args:
        encoder_dir: the Hugging Face encoder folder (read only when the saved tokenizer is missing).
        cache_dir: where the saved tokenizer lives (the ONNX model's folder).
        max_length: most tokens per pair, special tokens included.
    """

    def __init__(self, encoder_dir: Path, cache_dir: Path, max_length: int):
        self._tok, facts = _load_saved(encoder_dir, cache_dir)
        self.pad_id, self.max_length = int(facts["pad_id"]), max_length
        # What transformers sets on this same backend for truncation="longest_first": the cut is the library's own.
        self._tok.enable_truncation(max_length, stride=0, strategy="longest_first", direction="right")
        self._tok.no_padding()

    def pairs(self, firsts: list[str], seconds: list[str]) -> list[list[int]]:
        """Token ids of each (first, second) pair, special tokens included, cut to ``max_length``.

        Args:
            firsts: the first text of each pair (the premise).
            seconds: the second text of each pair (the hypothesis), as many.

        Returns:
            One id list per pair.
        """
        return [enc.ids for enc in self._tok.encode_batch(list(zip(firsts, seconds, strict=True)))]


def pad_rows(rows: list[list[int]], pad_id: int) -> tuple[np.ndarray, np.ndarray]:
    """Right-pad token id lists into a batch as wide as the longest.

    Args:
        rows: token ids of each sequence.
        pad_id: the tokenizer's pad id.

    Returns:
        (input_ids, attention_mask), int64 arrays of shape (n, longest); the mask is 1 on real tokens.
    """
    width = max((len(r) for r in rows), default=0)
    input_ids = np.full((len(rows), width), pad_id, np.int64)
    mask = np.zeros((len(rows), width), np.int64)
    for n, row in enumerate(rows):
        input_ids[n, : len(row)] = row
        mask[n, : len(row)] = 1
    return input_ids, mask


def _load_saved(encoder_dir: Path, cache_dir: Path) -> tuple[Any, dict[str, Any]]:
    """The saved tokenizer (saved first when missing) and its facts (pad id, model max length)."""
    from tokenizers import Tokenizer

    saved = cache_dir / f"tokenizer-transformers-{metadata.version('transformers')}.json"
    facts_path = saved.with_suffix(".facts.json")
    if not (saved.is_file() and facts_path.is_file()):
        _save_transformers_tokenizer(encoder_dir, saved, facts_path)
    return Tokenizer.from_file(str(saved)), json.loads(facts_path.read_text(encoding="utf-8"))


def _save_transformers_tokenizer(encoder_dir: Path, saved: Path, facts_path: Path) -> None:
    from transformers import AutoTokenizer

    hf = AutoTokenizer.from_pretrained(str(encoder_dir))
    if not hasattr(hf, "backend_tokenizer"):
        raise ValueError(f"{encoder_dir}: the tokenizer has no fast (tokenizers) form; use embed_backend = torch")
    facts = {"pad_id": hf.pad_token_id if hf.pad_token_id is not None else 0, "model_max_length": hf.model_max_length}
    for path, text in ((saved, hf.backend_tokenizer.to_str()), (facts_path, json.dumps(facts))):
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
