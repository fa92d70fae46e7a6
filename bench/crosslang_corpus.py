"""Corpora of the cross-language benchmark: the full mixed XQuAD corpus and partial-language versions of it."""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np

from bench.data import XQuAD

logger = logging.getLogger(__name__)

#: Languages each paragraph keeps in a partial corpus.
KEEP = 3


def partial_languages(xquad: XQuAD, seed: int, keep: int = KEEP) -> dict[int, tuple[str, ...]]:
    """The languages each paragraph keeps: ``keep`` of the corpus languages, drawn with ``seed``.

    Args:
        xquad: the parallel data.
        seed: the random seed (one seed, one corpus).
        keep: languages per paragraph.

    Returns:
        pid -> the kept languages.
    """
    langs = list(xquad.paragraphs)
    rng = np.random.default_rng(seed)
    n = len(next(iter(xquad.paragraphs.values())))
    return {pid: tuple(sorted(rng.choice(langs, keep, replace=False).tolist())) for pid in range(n)}


def write_partial(xquad: XQuAD, kept: dict[int, tuple[str, ...]], folder: Path) -> list[Path]:
    """One JSONL file per language with the paragraphs it keeps, each row with its pid and language.

    Args:
        xquad: the parallel data.
        kept: pid -> kept languages (``partial_languages``).
        folder: where the files go.

    Returns:
        The files written.
    """
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for lang, texts in xquad.paragraphs.items():
        rows = [
            json.dumps({"text": t, "pid": pid, "lang": lang}, ensure_ascii=False)
            for pid, t in enumerate(texts)
            if lang in kept[pid]
        ]
        path = folder / f"xquad-{lang}.jsonl"
        path.write_text("\n".join(rows) + "\n", encoding="utf-8")
        paths.append(path)
    return paths


class CachedEmbedder:
    """An embedder that remembers the vectors of texts it has embedded, in memory and optionally on disk.

    The partial corpora re-ingest paragraphs of the full corpus and every mode asks the same questions:
    the same text through the same model gives the same vector, so it is embedded once per run.

    Args:
        embedder: the product's embedder (any runtime).
        path: a ``.npz`` file to load from and save to (None: memory only).
    """

    def __init__(self, embedder: Any, path: Path | None = None):
        self._inner = embedder
        self._path = path
        self._memo: dict[str, np.ndarray] = {}
        if path is not None and path.exists():
            data = np.load(path)
            self._memo = dict(zip(data["keys"].tolist(), data["vectors"]))
            logger.info("embedding cache: %d vectors from %s", len(self._memo), path)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        """See ``Embedder.encode_queries``."""
        return self._cached("q", texts, lambda todo: self._inner.encode_queries(todo))

    def encode_documents(self, texts: list[str], progress: Any = None) -> np.ndarray:
        """See ``Embedder.encode_documents`` (progress is reported once, for all texts)."""
        out = self._cached("d", texts, lambda todo: self._inner.encode_documents(todo))
        if progress:
            progress(len(texts))
        return out

    def _cached(self, role: str, texts: list[str], encode: Any) -> np.ndarray:
        keys = [_key(role, self._inner.fingerprint, t) for t in texts]
        todo = list(dict.fromkeys(k for k in keys if k not in self._memo))
        if todo:
            by_key = dict(zip(keys, texts))
            for key, vector in zip(todo, encode([by_key[k] for k in todo])):
                self._memo[key] = vector
        dim = self._inner.dim
        return np.stack([self._memo[k] for k in keys]) if keys else np.empty((0, dim), np.float32)

    def save(self) -> None:
        """Write the remembered vectors to ``path`` (if any)."""
        if self._path is None or not self._memo:
            return
        keys = list(self._memo)
        tmp = self._path.with_suffix(".tmp.npz")
        np.savez(tmp, keys=np.array(keys), vectors=np.stack([self._memo[k] for k in keys]))
        tmp.replace(self._path)


def _key(role: str, fingerprint: str, text: str) -> str:
    return hashlib.sha1(f"{role}\0{fingerprint}\0{text}".encode()).hexdigest()
