"""Sentence-transformers embedder: role prompts, length-sorted batches, tokenizer spans, fingerprint."""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from indexer.errors import ModelUnavailableError

logger = logging.getLogger(__name__)

BUILTIN_PREFIX = "builtin:"
BACKENDS = ("auto", "onnx", "torch")
QUANTS = ("int8", "fp32")


def resolve_model_path(model: str, cache_dir: Path) -> str:
    """Turn a configured model name into something SentenceTransformer can load.

    Args:
        model: ``builtin:multilingual-e5-small``, a local directory or a Hub model id.
        cache_dir: where built-in models are built.

    Returns:
        A local directory or a Hub id.

    Raises:
        ModelUnavailableError: for an unknown built-in name or when the built-in model cannot be built.
    """
    if not model.startswith(BUILTIN_PREFIX):
        return model
    name = model.removeprefix(BUILTIN_PREFIX)
    if name != "multilingual-e5-small":
        raise ModelUnavailableError(f"unknown built-in model {model!r}; use 'builtin:multilingual-e5-small'")
    from indexer.model_build import ensure_default_model

    return str(ensure_default_model(cache_dir))


class Embedder:
    """Embeds queries and passages with a sentence-transformers model and role prompts.

    Args:
        model: configured model name (see ``resolve_model_path``).
        prompts: ``{"query": ..., "document": ...}`` prefixes.
        cache_dir: where built-in models are built.
        batch_size: passages per forward pass.
        threads: torch CPU threads (0: every core this process may use).
    """

    backend = "torch"
    backend_label = "torch fp32"

    def __init__(self, model: str, prompts: dict[str, str], cache_dir: Path, batch_size: int = 32, threads: int = 0):
        import torch

        from indexer.onnx.session import usable_cores

        torch.set_num_threads(threads or usable_cores())
        self.model_id = model
        self.prompts = dict(prompts)
        self.batch_size = batch_size
        path = resolve_model_path(model, cache_dir)
        self.model = _load_sentence_transformer(path, self.prompts)
        self.tokenizer = self.model.tokenizer
        self.dim = int(self.model.get_embedding_dimension())
        self.max_tokens = int(self.model.max_seq_length)
        self.fingerprint = _fingerprint(self.model, model, self.prompts)

    def token_spans(self, text: str) -> list[tuple[int, int]]:
        """Character spans of the model's tokens in ``text`` (no special tokens).

        Args:
            text: any text.

        Returns:
            One (start, end) pair per token.
        """
        enc = self.tokenizer(text, add_special_tokens=False, return_offsets_mapping=True, verbose=False)
        return [tuple(span) for span in enc["offset_mapping"]]

    def count_tokens(self, texts: list[str], prompt: str = "") -> np.ndarray:
        """Token counts including special tokens and ``prompt``, as the model sees them."""
        enc = self.tokenizer([prompt + t for t in texts], add_special_tokens=True, verbose=False)
        return np.array([len(ids) for ids in enc["input_ids"]], dtype=np.int64)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        """Embed queries with the query prompt.

        Returns:
            float32 array (n, dim), L2-normalised.
        """
        return self._encode(texts, self.prompts.get("query", ""))

    def encode_documents(self, texts: list[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        """Embed passages with the document prompt, in batches sorted by token length.

        Sorting by tokens (not characters, as sentence-transformers does) keeps padding low when
        scripts mix: a Chinese character is often one token, a Latin one a fraction of one.

        Args:
            texts: passages.
            progress: called with the number of passages done after each batch.

        Returns:
            float32 array (n, dim), L2-normalised, in the input order.
        """
        prompt = self.prompts.get("document", "")
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        order = np.argsort(-self.count_tokens(texts, prompt), kind="stable")
        for start in range(0, len(texts), self.batch_size):
            rows = order[start:start + self.batch_size]
            out[rows] = self._encode([texts[i] for i in rows], prompt)
            if progress:
                progress(len(rows))
        return out

    def _encode(self, texts: list[str], prompt: str) -> np.ndarray:
        if not texts:
            return np.empty((0, self.dim), dtype=np.float32)
        vectors = self.model.encode(texts, prompt=prompt, batch_size=max(len(texts), 1), normalize_embeddings=True,
                                    convert_to_numpy=True, show_progress_bar=False)
        return np.ascontiguousarray(vectors, dtype=np.float32)


def load_embedder(model: str, prompts: dict[str, str], cache_dir: Path, batch_size: int = 32, threads: int = 0,
                  backend: str = "auto", quant: str = "int8") -> Embedder:
    """Load the embedder for a backend: ONNX Runtime (int8 or fp32) or torch.

    Args:
        model: configured model name (see ``resolve_model_path``).
        prompts: ``{"query": ..., "document": ...}`` prefixes.
        cache_dir: where built-in models are built and ONNX exports are written.
        batch_size: passages per forward pass.
        threads: CPU threads (0: all cores).
        backend: ``"auto"`` (ONNX where onnxruntime is installed, torch otherwise), ``"onnx"`` or ``"torch"``.
        quant: ``"int8"`` or ``"fp32"`` (ONNX only; torch is always fp32).

    Returns:
        An :class:`Embedder` (``indexer.embedder_onnx.OnnxEmbedder`` for ONNX).

    Raises:
        ValueError: for an unknown backend or quantisation.
        ModelUnavailableError: if the model cannot be loaded, or ``onnx`` is asked for without onnxruntime.
    """
    from indexer.onnx.session import ORT_AVAILABLE

    if backend not in BACKENDS:
        raise ValueError(f"unknown embedding backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    if quant not in QUANTS:
        raise ValueError(f"unknown embedding quantisation {quant!r}; choose one of {', '.join(QUANTS)}")
    if backend == "onnx" and not ORT_AVAILABLE:
        raise ModelUnavailableError("onnxruntime is not available - install onnxruntime, or set "
                                    "BABELSEARCH_EMBED_BACKEND=torch")
    if backend == "torch" or not ORT_AVAILABLE:
        return Embedder(model, prompts, cache_dir, batch_size, threads)
    from indexer.embedder_onnx import OnnxEmbedder

    try:
        return OnnxEmbedder(model, prompts, cache_dir, batch_size, threads, quant)
    except ModelUnavailableError as e:
        if backend == "onnx":
            raise
        # auto: a model the ONNX path cannot take (other pooling, no local copy) still works with torch.
        logger.warning("ONNX backend unavailable for %s (%s); using torch", model, e)
        return Embedder(model, prompts, cache_dir, batch_size, threads)


def _load_sentence_transformer(path: str, prompts: dict[str, str]):  # noqa: ANN202 - lazy import type
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    # The library's own progress bars would garble the CLI's and the UI's.
    hf_logging.disable_progress_bar()
    try:
        return SentenceTransformer(path, device="cpu", prompts=prompts, default_prompt_name=None)
    except Exception as e:  # the library raises OSError, ValueError, HTTP errors...
        offline = os.environ.get("HF_HUB_OFFLINE") == "1"
        hint = ("the Hugging Face Hub is not reachable (HF_HUB_OFFLINE=1)" if offline else
                "check the model id or path and your network")
        raise ModelUnavailableError(
            f"cannot load the embedding model {path!r}: {e.__class__.__name__}: {e}. Use a local sentence-transformers"
            f" directory or 'builtin:multilingual-e5-small' (BABELSEARCH_MODEL or --model); {hint}."
        ) from e


def _fingerprint(model, name: str, prompts: dict[str, str]) -> str:  # noqa: ANN001
    # Hash the prompts, the pooling/normalisation modules and a strided sample of every weight tensor:
    # cheap at start-up, yet any change of weights, prompts or architecture changes it.
    digest = hashlib.sha256()
    digest.update(repr(sorted(prompts.items())).encode())
    digest.update(repr([type(m).__name__ for m in model]).encode())
    for key, tensor in model.state_dict().items():
        flat = tensor.detach().reshape(-1)
        sample = flat[:: max(1, flat.numel() // 4096)].float().numpy()
        digest.update(key.encode())
        digest.update(repr(tuple(tensor.shape)).encode())
        digest.update(np.round(sample, 5).tobytes())
    return digest.hexdigest()[:16]
