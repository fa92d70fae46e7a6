"""FAISS vector index: exact inner product (IndexFlatIP) with chunk ids (IndexIDMap2)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from indexer.ann.base import VectorIndex
from indexer.errors import VectorIndexError

try:
    import faiss

    FAISS = True
except ImportError:  # pragma: no cover - exercised only where faiss-cpu is missing
    FAISS = False


class FaissIndex(VectorIndex):
    """Exact FAISS search; filters run inside FAISS through an ID selector."""

    name = "faiss-flat"

    def __init__(self, dim: int):
        if not FAISS:
            raise ImportError("faiss is not available - install faiss-cpu")
        super().__init__(dim)
        self._index = self._empty()

    def _empty(self) -> faiss.IndexIDMap2:
        # Inner product == cosine on normalised vectors; IDMap2 keeps chunk ids and allows remove_ids.
        return faiss.IndexIDMap2(faiss.IndexFlatIP(self.dim))

    def index(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        ids, vectors = self._check(ids, vectors)
        self._index = self._empty()
        if len(ids):
            self._index.add_with_ids(vectors, ids)

    def upsert(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        ids, vectors = self._check(ids, vectors)
        self.delete(ids)
        if len(ids):
            self._index.add_with_ids(vectors, ids)

    def delete(self, ids: np.ndarray) -> np.ndarray:
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        present = ids[np.isin(ids, self.ids())]
        if len(present):
            self._index.remove_ids(faiss.IDSelectorBatch(present))
        return np.unique(present)

    def search(
        self, queries: np.ndarray, k: int, allowed: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        queries = np.ascontiguousarray(queries, dtype=np.float32).reshape(-1, self.dim)
        params = None
        if allowed is not None:
            allowed = np.ascontiguousarray(allowed, dtype=np.int64)
            if len(allowed) == 0:
                return (np.full((len(queries), k), -np.inf, np.float32), np.full((len(queries), k), -1, np.int64))
            # IndexIDMap translates the selector to internal rows, so it filters by chunk id.
            params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(allowed))
        scores, ids = self._index.search(queries, k, params=params)
        scores[ids < 0] = -np.inf
        return scores, ids

    def count(self) -> int:
        return int(self._index.ntotal)

    def ids(self) -> np.ndarray:
        return np.sort(faiss.vector_to_array(self._index.id_map).astype(np.int64))

    def save(self, path: Path) -> None:
        tmp = path.with_name(path.name + ".tmp")
        faiss.write_index(self._index, str(tmp))
        os.replace(tmp, path)

    def load(self, path: Path) -> None:
        try:
            loaded = faiss.read_index(str(path))
        except RuntimeError as e:
            raise VectorIndexError(f"{path}: unreadable FAISS index ({e})") from e
        if loaded.d != self.dim:
            raise VectorIndexError(f"{path}: vectors of dimension {loaded.d}, expected {self.dim}")
        self._index = faiss.IndexIDMap2.cast(loaded) if not isinstance(loaded, faiss.IndexIDMap2) else loaded
