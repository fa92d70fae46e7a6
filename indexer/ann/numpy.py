"""Brute-force NumPy vector index: the test oracle and the fallback when faiss is missing."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from indexer.ann.base import VectorIndex, pad_results
from indexer.errors import VectorIndexError


class NumpyIndex(VectorIndex):
    """Exact search by a matrix product over all stored vectors."""

    name = "numpy"

    def __init__(self, dim: int):
        super().__init__(dim)
        self._ids = np.empty(0, dtype=np.int64)
        self._vectors = np.empty((0, dim), dtype=np.float32)

    def index(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        ids, vectors = self._check(ids, vectors)
        order = np.argsort(ids, kind="stable")
        self._ids, self._vectors = ids[order], vectors[order]

    def upsert(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        ids, vectors = self._check(ids, vectors)
        self.delete(ids)
        self.index(np.concatenate([self._ids, ids]), np.concatenate([self._vectors, vectors]))

    def delete(self, ids: np.ndarray) -> np.ndarray:
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        present = np.isin(self._ids, ids)
        removed = self._ids[present]
        self._ids, self._vectors = self._ids[~present], self._vectors[~present]
        return removed

    def search(
        self, queries: np.ndarray, k: int, allowed: np.ndarray | None = None, quick: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
        queries = np.ascontiguousarray(queries, dtype=np.float32).reshape(-1, self.dim)
        ids, vectors = self._ids, self._vectors
        if allowed is not None:
            mask = np.isin(ids, np.asarray(allowed, dtype=np.int64))
            ids, vectors = ids[mask], vectors[mask]
        scores = queries @ vectors.T
        all_s, all_i = [], []
        for row in scores:
            top = min(k, len(row))
            # argpartition then a stable sort: ties break by the lower id, as in the FAISS flat index.
            part = np.argpartition(-row, top - 1)[:top] if top else np.empty(0, dtype=np.int64)
            part = part[np.lexsort((ids[part], -row[part]))]
            all_s.append(row[part])
            all_i.append(ids[part])
        return pad_results(all_s, all_i, k)

    def count(self) -> int:
        return len(self._ids)

    def ids(self) -> np.ndarray:
        return self._ids.copy()

    def save(self, path: Path) -> None:
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "wb") as f:
            np.savez(f, ids=self._ids, vectors=self._vectors)
        os.replace(tmp, path)

    def load(self, path: Path) -> None:
        try:
            with np.load(path) as data:
                ids, vectors = data["ids"], data["vectors"]
        except (OSError, ValueError, KeyError) as e:
            raise VectorIndexError(f"{path}: unreadable vector index ({e})") from e
        if vectors.ndim != 2 or vectors.shape[1] != self.dim:
            raise VectorIndexError(f"{path}: vectors of dimension {vectors.shape[-1]}, expected {self.dim}")
        self.index(ids, vectors)
