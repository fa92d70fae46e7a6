"""FAISS vector index: exact (IndexFlatIP) below a size threshold, inverted lists (IVF, float16) above it."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from indexer.ann.base import VectorIndex
from indexer.ann.ivf import Ivf
from indexer.ann.selectors import IdBitmap, PerArray
from indexer.errors import VectorIndexError

try:
    import faiss

    FAISS = True
except ImportError:  # pragma: no cover - exercised only where faiss-cpu is missing
    FAISS = False

#: Below this many vectors the index is exact; from it on, approximate (IVF).
EXACT_BELOW = 200_000
#: Fewer queries than this are searched on one OpenMP thread in the exact index: FAISS splits one query's scan
#: over the threads, and waking them costs more than the scan saves (FAISS hands this many queries to BLAS).
ONE_THREAD_BELOW = 20


class FaissIndex(VectorIndex):
    """FAISS search that picks its structure by size; filters run inside FAISS through an ID selector.

    Small indexes are exact. Past ``exact_below`` vectors the index becomes an IVF one (see
    ``indexer.ann.ivf``), retrained when it has grown well past the size it was trained at. A filter
    that allows few ids is searched exactly over those ids instead, where an approximate search
    would lose recall.

    Args:
        dim: vector dimension.
        exact_below: size from which the index is approximate (0: always approximate, for tests).
        nprobe: inverted lists visited per query (None: chosen from the list count).
        threads: FAISS's threads for builds, updates and batches of queries (0: FAISS's default, every core).
            An exact search of fewer than ``ONE_THREAD_BELOW`` queries runs on one thread whatever the setting
            (an IVF search spreads its probed lists over the threads, which pays). OpenMP keeps the setting per
            calling thread, so it is applied around each call, not once.
    """

    name = "faiss"

    def __init__(self, dim: int, exact_below: int = EXACT_BELOW, nprobe: int | None = None, threads: int = 0):
        if not FAISS:
            raise ImportError("faiss is not available - install faiss-cpu")
        super().__init__(dim)
        self.threads = threads
        self.exact_below = exact_below
        self.nprobe = nprobe
        self._flat = self._empty_flat()
        self._ivf: Ivf | None = None
        self._bitmaps: PerArray[IdBitmap] = PerArray()  # by chunk id: valid whatever the index holds

    def _empty_flat(self) -> faiss.IndexIDMap2:
        # Inner product == cosine on normalised vectors; IDMap2 keeps chunk ids and allows remove_ids.
        return faiss.IndexIDMap2(faiss.IndexFlatIP(self.dim))

    def structure(self) -> dict[str, Any]:
        """What the index is now: {"type": "flat"} or the IVF parameters (recorded in the index metadata)."""
        return self._ivf.describe() if self._ivf is not None else {"type": "flat", "exact_below": self.exact_below}

    def index(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        with _omp_threads(self.threads):
            self._index(ids, vectors)

    def _index(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        ids, vectors = self._check(ids, vectors)
        self._flat, self._ivf = self._empty_flat(), None
        if len(ids) and len(ids) >= max(self.exact_below, 1):
            self._ivf = Ivf.build(ids, vectors, self.nprobe)
        elif len(ids):
            self._flat.add_with_ids(vectors, ids)

    def index_batches(self, count: int, batches: Callable[[], Iterable[tuple[np.ndarray, np.ndarray]]]) -> None:
        if count < max(self.exact_below, 1):
            super().index_batches(count, batches)
            return
        self._flat, self._ivf = self._empty_flat(), None
        with _omp_threads(self.threads):
            self._ivf = Ivf.build_streamed(count, batches, self.nprobe)

    def upsert(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        with _omp_threads(self.threads):
            self._upsert(ids, vectors)

    def _upsert(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        ids, vectors = self._check(ids, vectors)
        self.delete(ids)
        if not len(ids):
            return
        if self._ivf is not None:
            self._ivf.add(ids, vectors)
            if self._ivf.needs_retraining():
                self._index(*self._ivf.all())
        elif self.count() + len(ids) >= max(self.exact_below, 1):
            # Growing past the threshold: rebuild as IVF from everything held plus the new vectors.
            held_ids, held = self._flat_all()
            self._index(np.concatenate([held_ids, ids]), np.concatenate([held, vectors]))
        else:
            self._flat.add_with_ids(vectors, ids)

    def _flat_all(self) -> tuple[np.ndarray, np.ndarray]:
        n = self._flat.ntotal
        ids = faiss.vector_to_array(self._flat.id_map).astype(np.int64)
        flat = faiss.downcast_index(self._flat.index)
        vectors = faiss.rev_swig_ptr(flat.get_xb(), n * self.dim).reshape(n, self.dim).copy() if n else None
        return ids, vectors if vectors is not None else np.empty((0, self.dim), np.float32)

    def delete(self, ids: np.ndarray) -> np.ndarray:
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        if self._ivf is not None:
            return self._ivf.delete(ids)
        present = ids[np.isin(ids, self.ids())]
        if len(present):
            self._flat.remove_ids(faiss.IDSelectorBatch(present))
        return np.unique(present)

    def search(
        self, queries: np.ndarray, k: int, allowed: np.ndarray | None = None, quick: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
        queries = np.ascontiguousarray(queries, dtype=np.float32).reshape(-1, self.dim)
        one = self._ivf is None and len(queries) < ONE_THREAD_BELOW
        with _omp_threads(1 if one else self.threads):
            return self._search(queries, k, allowed, quick)

    def _search(
        self, queries: np.ndarray, k: int, allowed: np.ndarray | None, quick: bool
    ) -> tuple[np.ndarray, np.ndarray]:
        if allowed is not None:
            allowed = np.ascontiguousarray(allowed, dtype=np.int64)
            if len(allowed) == 0:
                return (np.full((len(queries), k), -np.inf, np.float32), np.full((len(queries), k), -1, np.int64))
        if self._ivf is not None:
            return self._ivf.search(queries, k, allowed, quick)
        params = None
        if allowed is not None:
            # IndexIDMap translates the selector to internal rows, so it filters by chunk id; a bitmap is a bit
            # test per row where a batch selector hashes (and is built again for each query).
            params = faiss.SearchParameters(sel=self._bitmaps.get(allowed, IdBitmap).selector)
        scores, found = self._flat.search(queries, k, params=params)
        scores[found < 0] = -np.inf
        return scores, found

    def count(self) -> int:
        return self._ivf.count() if self._ivf is not None else int(self._flat.ntotal)

    def ids(self) -> np.ndarray:
        if self._ivf is not None:
            return self._ivf.ids()
        return np.sort(faiss.vector_to_array(self._flat.id_map).astype(np.int64))

    def save(self, path: Path) -> None:
        tmp = path.with_name(path.name + ".tmp")
        if self._ivf is not None:
            self._ivf.write(str(tmp))
        else:
            faiss.write_index(self._flat, str(tmp))
        os.replace(tmp, path)

    def load(self, path: Path) -> None:
        # An IVF index is mapped (its lists are read as queries visit them); an exact one is read whole, as FAISS
        # cannot add to a mapped one. read_index returns the concrete class (the object owns its memory: keep it).
        loaded = _read(path, faiss.IO_FLAG_MMAP_IFC)
        if not isinstance(loaded, faiss.IndexIVF):
            loaded = _read(path)
        if loaded.d != self.dim:
            raise VectorIndexError(f"{path}: vectors of dimension {loaded.d}, expected {self.dim}")
        if isinstance(loaded, faiss.IndexIVF):
            self._flat, self._ivf = self._empty_flat(), Ivf(loaded, self.nprobe, mapped_from=str(path))
        elif isinstance(loaded, faiss.IndexIDMap2):
            self._flat, self._ivf = loaded, None
        else:
            raise VectorIndexError(f"{path}: a FAISS index of an unexpected kind ({type(loaded).__name__})")

    def warm(self) -> None:
        if self._ivf is not None:
            self._ivf.warm()

    def prepare(self) -> None:
        if self._ivf is not None:
            self._ivf.prepare()


@contextmanager
def _omp_threads(threads: int) -> Iterator[None]:
    """FAISS on ``threads`` OpenMP threads within the block (0: unchanged), then as before, for this thread."""
    if threads <= 0:
        yield
        return
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(threads)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)


def _read(path: Path, flags: int = 0) -> Any:
    try:
        return faiss.read_index(str(path), flags)
    except RuntimeError as e:
        raise VectorIndexError(f"{path}: unreadable FAISS index ({e})") from e
