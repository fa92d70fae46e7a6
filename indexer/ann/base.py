"""Abstract vector index: ids are chunk ids, scores are inner products of normalised vectors."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np


class VectorIndex(ABC):
    """An id-addressed vector index searched by inner product.

    Vectors are float32 and L2-normalised by the caller, so the inner product is the cosine.
    """

    #: Name written into the index metadata (e.g. "faiss", "numpy").
    name: str = "base"

    def __init__(self, dim: int):
        self.dim = dim

    @abstractmethod
    def index(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Replace the whole content with these vectors.

        Args:
            ids: int64 chunk ids, shape (n,).
            vectors: float32, shape (n, dim).
        """

    def index_batches(self, count: int, batches: Callable[[], Iterable[tuple[np.ndarray, np.ndarray]]]) -> None:
        """Replace the whole content with the vectors of ``batches()`` (a rebuild from the database).

        The default gathers them and calls ``index``; a backend that can build from a stream overrides it, so
        a rebuild does not hold every vector twice.

        Args:
            count: how many vectors the batches hold.
            batches: returns a new iterator of (int64 ids, float32 vectors) batches each time it is called.
        """
        parts = list(batches())
        ids = np.concatenate([i for i, _ in parts]) if parts else np.empty(0, np.int64)
        vectors = np.concatenate([v for _, v in parts]) if parts else np.empty((0, self.dim), np.float32)
        self.index(ids, vectors)

    @abstractmethod
    def upsert(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add vectors, replacing any with the same ids.

        Args:
            ids: int64 chunk ids, shape (n,).
            vectors: float32, shape (n, dim).
        """

    @abstractmethod
    def delete(self, ids: np.ndarray) -> np.ndarray:
        """Remove vectors by id.

        Args:
            ids: int64 chunk ids.

        Returns:
            The ids that were present and are now removed.
        """

    @abstractmethod
    def search(
        self, queries: np.ndarray, k: int, allowed: np.ndarray | None = None, quick: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
        """Find the k nearest vectors to each query.

        Args:
            queries: float32, shape (q, dim).
            k: results per query.
            allowed: if given, only these ids may be returned (a filter applied inside the search).
            quick: one of several filtered searches with the same query (one per language, for balanced
                search): an approximate index may scan less of the allowed vectors, for a little less recall.

        Returns:
            (scores, ids), each shape (q, k); missing results have id -1 and score -inf.
        """

    @abstractmethod
    def count(self) -> int:
        """Number of vectors held."""

    @abstractmethod
    def ids(self) -> np.ndarray:
        """All ids held, int64, sorted."""

    def max_id(self) -> int:
        """The largest id held, or -1 when empty: where catching up with the database starts.

        A backend for which listing every id is slow may answer from what it has written (an id above the
        answer is then added again, which is harmless: the caller compares counts with the database too).
        """
        return int(self.ids().max()) if self.count() else -1

    @abstractmethod
    def save(self, path: Path) -> None:
        """Write the index to ``path`` atomically (temp file + rename).

        Args:
            path: destination file.
        """

    @abstractmethod
    def load(self, path: Path) -> None:
        """Replace the content with the index saved at ``path``.

        Args:
            path: a file written by ``save``.

        Raises:
            VectorIndexError: if the file is unreadable or of another dimension.
        """

    def close(self) -> None:
        """Release resources (default: nothing to do)."""

    def warm(self) -> None:
        """Read ahead what searches will touch, so that the first ones do not wait on the disk (default: nothing).

        It runs beside searches and writes (the UI calls it in the background at start-up), so it changes nothing.
        """

    def prepare(self) -> None:
        """Build now what the first filtered search or write would build (default: nothing); called under a lock."""

    def structure(self) -> dict[str, Any]:
        """How the vectors are searched now, for the index metadata (default: exhaustively)."""
        return {"type": "exact"}

    def _check(self, ids: np.ndarray, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        ids = np.ascontiguousarray(ids, dtype=np.int64).reshape(-1)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1, self.dim)
        if len(ids) != len(vectors):
            raise ValueError(f"{len(ids)} ids for {len(vectors)} vectors")
        return ids, vectors


def positions_in(sorted_ids: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Where each of ``ids`` sits in the sorted array ``sorted_ids``, -1 where it is absent.

    A binary search: O(m log n) for m ids, where ``np.isin`` sorts all n ids on every call.
    """
    ids = np.asarray(ids, dtype=np.int64)
    if not len(sorted_ids):
        return np.full(len(ids), -1, np.int64)
    pos = np.minimum(np.searchsorted(sorted_ids, ids), len(sorted_ids) - 1)
    return np.where(sorted_ids[pos] == ids, pos, -1)


def pad_results(scores: list[np.ndarray], ids: list[np.ndarray], k: int) -> tuple[np.ndarray, np.ndarray]:
    """Stack per-query results into (q, k) arrays padded with -inf / -1.

    Args:
        scores: per-query score arrays, each of length ≤ k.
        ids: per-query id arrays, matching ``scores``.
        k: width of the output.

    Returns:
        (scores, ids) arrays of shape (q, k).
    """
    out_s = np.full((len(scores), k), -np.inf, dtype=np.float32)
    out_i = np.full((len(scores), k), -1, dtype=np.int64)
    for row, (s, i) in enumerate(zip(scores, ids)):
        out_s[row, : len(s)] = s
        out_i[row, : len(i)] = i
    return out_s, out_i
