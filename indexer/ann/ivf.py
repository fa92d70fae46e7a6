"""Approximate FAISS search for large indexes: IVF-Flat with chunk ids, deletes and filter-aware probing."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

try:
    import faiss
except ImportError:  # pragma: no cover - FaissIndex refuses to start without faiss
    faiss = None

#: Training sample per inverted list (FAISS warns below 39; more adds build time for little gain).
TRAIN_PER_LIST = 64
#: Inverted lists per square root of the vector count (FAISS's guidance: 4 to 16 √n).
LISTS_PER_ROOT = 4
#: Share of the lists visited per unfiltered query; chosen on real embeddings (BENCHMARKS.md, ANN section).
PROBE_SHARE = 1 / 32
MIN_PROBE = 16


def list_count(n: int) -> int:
    """Inverted lists for ``n`` vectors: 4 √n, at least 16 and never more than n / 39 (FAISS's training floor).

    Args:
        n: vector count.

    Returns:
        The list count.
    """
    return max(1, min(max(16, round(LISTS_PER_ROOT * math.sqrt(n))), n // 39))


def probe_count(nlist: int) -> int:
    """Lists visited per unfiltered query for an index of ``nlist`` lists.

    Args:
        nlist: list count.

    Returns:
        nprobe.
    """
    return min(nlist, max(MIN_PROBE, round(nlist * PROBE_SHARE)))


class Ivf:
    """An ``IndexIVFFlat`` (inner product) holding chunk ids, with a sorted copy of its ids.

    A filter shrinks the share of useful vectors in every list, so the number of lists visited
    grows by the inverse of the allowed share: the candidates examined stay as many as without a
    filter, and a filter allowing few ids visits every list, which is an exact search over them.

    Args:
        index: the trained FAISS IVF index (with a hashtable direct map, for deletes).
        nprobe: lists visited per unfiltered query (None: ``probe_count``).
    """

    def __init__(self, index: Any, nprobe: int | None = None):
        self.index = index
        self.nprobe = nprobe or probe_count(index.nlist)
        self._ids = np.sort(self._all_ids())

    @classmethod
    def build(cls, ids: np.ndarray, vectors: np.ndarray, nprobe: int | None = None, seed: int = 0) -> Ivf:
        """Train on a sample of ``vectors`` and add them all.

        Args:
            ids: int64 chunk ids.
            vectors: float32 normalised vectors.
            nprobe: lists visited per query (None: chosen from the list count).
            seed: sample seed (the same data gives the same index).

        Returns:
            The index.
        """
        dim, nlist = vectors.shape[1], list_count(len(vectors))
        index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, faiss.METRIC_INNER_PRODUCT)
        sample = min(len(vectors), TRAIN_PER_LIST * nlist)
        rows = np.sort(np.random.default_rng(seed).choice(len(vectors), sample, replace=False))
        index.train(np.ascontiguousarray(vectors[rows]))
        # A hashtable direct map lets remove_ids and reconstruct find a chunk id's list.
        index.set_direct_map_type(faiss.DirectMap.Hashtable)
        index.add_with_ids(vectors, ids)
        return cls(index, nprobe)

    def describe(self) -> dict[str, Any]:
        """The structure, for the index metadata."""
        return {"type": "ivf-flat", "nlist": int(self.index.nlist), "nprobe": int(self.nprobe)}

    def needs_retraining(self) -> bool:
        """True once the index has grown to four times the size its list count was chosen for."""
        return list_count(self.count()) >= 2 * self.index.nlist

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add vectors whose ids are not held (the caller deletes replaced ids first).

        Args:
            ids: int64 chunk ids.
            vectors: float32 vectors.
        """
        self.index.add_with_ids(vectors, ids)
        self._ids = np.union1d(self._ids, ids)

    def delete(self, ids: np.ndarray) -> np.ndarray:
        """Remove the held ones of ``ids``; returns them, sorted.

        Args:
            ids: int64 chunk ids.

        Returns:
            The ids removed.
        """
        present = np.unique(ids[self._holds(ids)])
        if len(present):
            # With a hashtable direct map FAISS removes by an id array (each id's list is known).
            self.index.remove_ids(faiss.IDSelectorArray(present))
            self._ids = np.setdiff1d(self._ids, present, assume_unique=True)
        return present

    def search(self, queries: np.ndarray, k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Search, visiting more lists the fewer ids the filter allows (see the class docstring).

        Args:
            queries: float32 (q, dim).
            k: results per query.
            allowed: ids that may be returned, or None.

        Returns:
            (scores, ids) of shape (q, k), -inf / -1 where missing.
        """
        nprobe, sel = self.nprobe, None
        if allowed is not None:
            allowed = allowed[self._holds(allowed)]
            share = len(allowed) / max(1, self.count())
            nprobe = self.index.nlist if share == 0 else min(self.index.nlist, math.ceil(self.nprobe / share))
            sel = faiss.IDSelectorBatch(allowed)
        params = faiss.SearchParametersIVF(nprobe=nprobe, sel=sel) if sel else faiss.SearchParametersIVF(nprobe=nprobe)
        scores, found = self.index.search(queries, k, params=params)
        scores[found < 0] = -np.inf
        return scores, found

    def count(self) -> int:
        """Vectors held."""
        return int(self.index.ntotal)

    def ids(self) -> np.ndarray:
        """Held ids, sorted."""
        return self._ids.copy()

    def all(self) -> tuple[np.ndarray, np.ndarray]:
        """Every (id, vector) held, read from the inverted lists (for a rebuild)."""
        invlists, dim = self.index.invlists, self.index.d
        ids, vectors = [], []
        for lst in range(self.index.nlist):
            size = invlists.list_size(lst)
            if size:
                ids.append(faiss.rev_swig_ptr(invlists.get_ids(lst), size).copy())
                codes = faiss.rev_swig_ptr(invlists.get_codes(lst), size * invlists.code_size)
                vectors.append(codes.view(np.float32).reshape(size, dim).copy())
        if not ids:
            return np.empty(0, np.int64), np.empty((0, dim), np.float32)
        return np.concatenate(ids).astype(np.int64), np.concatenate(vectors)

    def _all_ids(self) -> np.ndarray:
        invlists = self.index.invlists
        parts = [faiss.rev_swig_ptr(invlists.get_ids(lst), invlists.list_size(lst)).copy()
                 for lst in range(self.index.nlist) if invlists.list_size(lst)]  # fmt: skip
        return np.concatenate(parts).astype(np.int64) if parts else np.empty(0, np.int64)

    def _holds(self, ids: np.ndarray) -> np.ndarray:
        # Binary search in the sorted id copy: O(m log n), where np.isin would be O(n) per call.
        ids = np.asarray(ids, dtype=np.int64)
        if not len(self._ids):
            return np.zeros(len(ids), bool)
        pos = np.minimum(np.searchsorted(self._ids, ids), len(self._ids) - 1)
        return self._ids[pos] == ids
