"""Approximate FAISS search for large indexes: IVF over float16 vectors, chunk ids, deletes, filter-aware probing."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from indexer.ann.base import positions_in
from indexer.ann.selectors import IdBitmap, PerArray

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
#: A filtered search scans this many times the unfiltered share of the allowed vectors: a query's nearest allowed
#: vectors lie scattered over more lists than its nearest neighbours do (the German passages nearest a French
#: question sit in lists led by German vectors on other topics). Chosen on real questions against exact search,
#: for filters of the query's own and of other languages: recall rises with it, and so does the search time (see
#: BENCHMARKS.md, query latency).
FILTER_PROBE_FACTOR = 8
#: The same for each of the searches of a balanced search (one per language, with the same query), whose time
#: adds up: a little less recall there keeps a balanced search within its budget.
QUICK_PROBE_FACTOR = 4
#: A filter allowing at most this many held ids is searched exactly, over their vectors.
EXACT_FILTER = 4096
#: Bytes read at a time when a mapped index file is read ahead (``Ivf.warm``).
WARM_READ = 8 << 20


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


def _compact(index: Any) -> None:
    """Copy each inverted list into process memory of its exact size, then hand freed memory back to the OS.

    A mapped index's lists are views of its file, which FAISS cannot change: they are copied before its first
    write (``Ivf._writable``). The old lists go only when the copy replaces them.
    """
    old = index.invlists
    exact = faiss.ArrayInvertedLists(index.nlist, old.code_size)
    for lst in range(index.nlist):
        size = old.list_size(lst)
        if size:
            exact.add_entries(lst, size, old.get_ids(lst), old.get_codes(lst))
    exact.this.disown()  # the index owns it from here on
    index.replace_invlists(exact, True)
    _trim()


def _add_presized(index: Any, batches: Callable[[], Iterable[tuple[np.ndarray, np.ndarray]]]) -> None:
    """Add every vector of ``batches()`` to a trained, empty IVF index, each list allocated once at its final size.

    A first pass finds each vector's list, a second adds the vectors to the lists chosen. Lists filled by
    appending would double their capacity as they grow, and copying them to their exact size afterwards would
    briefly hold both: this way the build holds the lists once. A vector the first pass did not see (the
    database changed in between) is assigned when it is added.
    """
    seen_ids, seen_lists = [], []
    for ids, vectors in batches():
        seen_ids.append(np.asarray(ids, dtype=np.int64))
        seen_lists.append(index.quantizer.assign(np.ascontiguousarray(vectors, dtype=np.float32), 1).ravel())
    if not seen_ids:
        return
    held, lists = np.concatenate(seen_ids), np.concatenate(seen_lists).astype(np.int64)
    del seen_ids, seen_lists
    order = np.argsort(held, kind="stable")
    held, lists = held[order], lists[order]
    invlists = faiss.downcast_InvertedLists(index.invlists)
    sizes = np.bincount(lists, minlength=index.nlist)
    for lst in np.flatnonzero(sizes).tolist():
        invlists.resize(lst, int(sizes[lst]))  # the capacity stays when the size goes back to 0
        invlists.resize(lst, 0)
    for ids, vectors in batches():
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        pos = positions_in(held, ids)
        assigned = np.where(pos >= 0, lists[np.maximum(pos, 0)], -1)
        if (pos < 0).any():
            assigned[pos < 0] = index.quantizer.assign(vectors[pos < 0], 1).ravel()
        assigned = np.ascontiguousarray(assigned, dtype=np.int64)
        index.add_core(len(ids), faiss.swig_ptr(vectors), faiss.swig_ptr(ids), faiss.swig_ptr(assigned))


def _trim() -> None:
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: the freed memory is reused by the process, not returned
        pass


class _Filter:
    """A filter's held ids (sorted), how many fall in each list, and a FAISS bitmap selector of them."""

    def __init__(self, ids: np.ndarray, per_list: np.ndarray):
        self.ids, self.per_list, self.count = ids, per_list, len(ids)
        self._bitmap: IdBitmap | None = None

    def selector(self):  # noqa: ANN201 - a FAISS selector
        if self._bitmap is None:
            self._bitmap = IdBitmap(self.ids)
        return self._bitmap.selector


class Ivf:
    """A FAISS IVF index (inner product, float16 vectors) holding chunk ids, with a sorted copy of ids and lists.

    A filtered search scans ``FILTER_PROBE_FACTOR`` times (a quick one, ``QUICK_PROBE_FACTOR`` times) the share of
    the *allowed* vectors that an unfiltered search scans of all: it visits the lists nearest the query among those
    holding allowed ids, until they hold that share (at least ``MIN_PROBE`` lists), with a bitmap selector so only
    allowed ids are compared. A filter that allows few ids (``EXACT_FILTER``) is searched exactly over their
    vectors instead.

    An index read from its file with FAISS's ``IO_FLAG_MMAP_IFC`` maps the file instead of reading it: a new
    process answers its first query after reading the lists that query visits, not all of them. Its lists are then
    views of the file, which FAISS cannot change (it aborts the process): the first write copies them into memory
    (``_writable``). What only some operations need is made on first use: the sorted id -> list copy (filters,
    writes) and FAISS's id hashtable (deletes, exact filtered search).

    Args:
        index: the trained FAISS IVF index.
        nprobe: lists visited per unfiltered query (None: ``probe_count``).
        mapped_from: the file the index's lists are views of, for an index read mapped (None: lists in memory).
    """

    def __init__(self, index: Any, nprobe: int | None = None, mapped_from: str | None = None):
        self.index = index
        self.nprobe = nprobe or probe_count(index.nlist)
        self._float32 = index.invlists.code_size == 4 * index.d
        self._file = mapped_from
        self._map: tuple[np.ndarray, np.ndarray] | None = None  # held ids, sorted, and the list of each
        self._filters: PerArray[_Filter] = PerArray()
        self._last_ranking: tuple[bytes, np.ndarray] | None = None

    @property
    def _mapped(self) -> bool:
        return self._file is not None

    def warm(self) -> None:
        """Read the mapped file once through, into the OS page cache; changes nothing (runs beside searches).

        Each new query of a process whose file is not cached otherwise waits on the disk for the lists it visits.
        """
        if self._file is None:
            return
        try:
            with open(self._file, "rb", buffering=0) as f:
                buffer = bytearray(WARM_READ)
                while f.readinto(buffer):
                    pass
        except OSError:  # replaced meanwhile: the mapping still holds the old file, read on demand
            pass

    def prepare(self) -> None:
        """Make the id -> list copy and FAISS's id hashtable now (filtered searches and writes need them)."""
        self._id_lists()
        self._direct_map()

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
        return cls.build_streamed(len(ids), lambda: iter([(ids, vectors)]), nprobe, seed)

    @classmethod
    def build_streamed(cls, count: int, batches: Callable[[], Iterable[tuple[np.ndarray, np.ndarray]]],
                       nprobe: int | None = None, seed: int = 0) -> Ivf:  # fmt: skip
        """Train on a sample read in one pass over ``batches()``, then add the vectors (``_add_presized``).

        Only the sample, one batch and each vector's list number are held beside the index: a rebuild of a
        million vectors does not need them all in memory twice, nor its lists.

        Args:
            count: how many vectors the batches hold.
            batches: returns a new iterator of (int64 ids, float32 normalised vectors) each time it is called.
            nprobe: lists visited per query (None: chosen from the list count).
            seed: sample seed (the same data gives the same index).

        Returns:
            The index.
        """
        nlist, rng, sample = list_count(count), np.random.default_rng(seed), []
        share = min(1.0, TRAIN_PER_LIST * nlist / max(1, count))
        dim = None
        for _, vectors in batches():
            dim = vectors.shape[1]
            sample.append(vectors[rng.random(len(vectors)) < share] if share < 1 else vectors)
        # float16 vectors in the lists, as the database stores them: half the memory of float32, nothing lost.
        index = faiss.IndexIVFScalarQuantizer(faiss.IndexFlatIP(dim), dim, nlist, faiss.ScalarQuantizer.QT_fp16,
                                              faiss.METRIC_INNER_PRODUCT)
        index.by_residual = False  # each vector's own float16 form, not its offset from the list centre
        index.train(np.ascontiguousarray(np.concatenate(sample)))
        del sample
        _add_presized(index, batches)
        return cls(index, nprobe)

    def describe(self) -> dict[str, Any]:
        """The structure, for the index metadata."""
        kind = "ivf-flat" if self._float32 else "ivf-fp16"  # ivf-flat: an index saved by an earlier release
        return {"type": kind, "nlist": int(self.index.nlist), "nprobe": int(self.nprobe)}

    def needs_retraining(self) -> bool:
        """True once the index has grown to four times the size its list count was chosen for."""
        return list_count(self.count()) >= 2 * self.index.nlist

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add vectors whose ids are not held (the caller deletes replaced ids first).

        Args:
            ids: int64 chunk ids.
            vectors: float32 vectors.
        """
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        # The lists FAISS files them under, assigned here so the id -> list copy agrees with the index.
        held_ids, held_lists = self._id_lists()
        self._writable()
        self._filters.clear()
        lists = self.index.quantizer.assign(vectors, 1).reshape(-1)
        self.index.add_core(len(ids), faiss.swig_ptr(vectors), faiss.swig_ptr(ids), faiss.swig_ptr(lists))
        if len(held_ids) and len(ids) and ids.min() > held_ids[-1] and np.all(np.diff(ids) > 0):
            self._map = np.concatenate([held_ids, ids]), np.concatenate([held_lists, lists])
            return
        merged_ids, merged_lists = np.concatenate([held_ids, ids]), np.concatenate([held_lists, lists])
        order = np.argsort(merged_ids, kind="stable")
        self._map = merged_ids[order], merged_lists[order]

    def delete(self, ids: np.ndarray) -> np.ndarray:
        """Remove the held ones of ``ids``; returns them, sorted.

        Args:
            ids: int64 chunk ids.

        Returns:
            The ids removed.
        """
        present = np.unique(ids[self._holds(ids)])
        if len(present):
            self._writable()
            self._filters.clear()
            # With a hashtable direct map FAISS removes by an id array (each id's list is known).
            self._direct_map()
            self.index.remove_ids(faiss.IDSelectorArray(present))
            held_ids, held_lists = self._id_lists()
            keep = ~np.isin(held_ids, present, assume_unique=True)
            self._map = held_ids[keep], held_lists[keep]
        return present

    def search(
        self, queries: np.ndarray, k: int, allowed: np.ndarray | None = None, quick: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
        """Search; with a filter, among the allowed ids only (see the class docstring).

        Args:
            queries: float32 (q, dim).
            k: results per query.
            allowed: ids that may be returned, or None.
            quick: scan ``QUICK_PROBE_FACTOR`` instead of ``FILTER_PROBE_FACTOR`` times the share (balanced search).

        Returns:
            (scores, ids) of shape (q, k), -inf / -1 where missing.
        """
        if allowed is None:
            scores, found = self.index.search(queries, k, params=faiss.SearchParametersIVF(nprobe=self.nprobe))
        else:
            held = self._filter(allowed)
            if held.count <= max(EXACT_FILTER, k):
                return self._exact(queries, k, held.ids)
            scores, found = self._filtered(queries, k, held, QUICK_PROBE_FACTOR if quick else FILTER_PROBE_FACTOR)
        scores[found < 0] = -np.inf
        return scores, found

    def _filter(self, allowed: np.ndarray) -> _Filter:
        # The same filter array comes back query after query (a language's ids): its lists and bitmap are kept
        # while it lives, until the index changes.
        return self._filters.get(allowed, self._held_of)

    def _held_of(self, allowed: np.ndarray) -> _Filter:
        held_ids, held_lists = self._id_lists()
        pos = positions_in(held_ids, allowed)
        pos = pos[pos >= 0]
        if len(pos) > 1 and not np.all(pos[1:] > pos[:-1]):
            pos = np.sort(pos)
            pos = pos[np.concatenate(([True], pos[1:] != pos[:-1]))]
        return _Filter(held_ids[pos], np.bincount(held_lists[pos], minlength=self.index.nlist))

    def _exact(self, queries: np.ndarray, k: int, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        scores = np.full((len(queries), k), -np.inf, np.float32)
        found = np.full((len(queries), k), -1, np.int64)
        if not len(ids):
            return scores, found
        self._direct_map()
        sims = queries @ self.index.reconstruct_batch(ids).T
        top = np.argsort(-sims, axis=1, kind="stable")[:, :k]
        scores[:, : top.shape[1]] = np.take_along_axis(sims, top, axis=1)
        found[:, : top.shape[1]] = ids[top]
        return scores, found

    def _filtered(self, queries: np.ndarray, k: int, held: _Filter, factor: float) -> tuple[np.ndarray, np.ndarray]:
        per_list = held.per_list
        want = max(k, math.ceil(held.count * factor * self.nprobe / self.index.nlist))
        selector = held.selector()
        scores = np.empty((len(queries), k), np.float32)
        found = np.empty((len(queries), k), np.int64)
        ranked = self._ranked_lists(np.ascontiguousarray(queries, dtype=np.float32))
        for row, query in enumerate(queries):
            order = ranked[row][per_list[ranked[row]] > 0]
            visit = max(min(MIN_PROBE, len(order)), int(np.searchsorted(np.cumsum(per_list[order]), want)) + 1)
            lists = np.ascontiguousarray(order[:visit][None], dtype=np.int64)
            params = faiss.SearchParametersIVF(nprobe=lists.shape[1], sel=selector)
            distances = np.zeros(lists.shape, np.float32)
            self.index.search_preassigned_c(1, faiss.swig_ptr(np.ascontiguousarray(query[None])), k,
                                            faiss.swig_ptr(lists), faiss.swig_ptr(distances),
                                            faiss.swig_ptr(scores[row]), faiss.swig_ptr(found[row]), False, params,
                                            None)  # fmt: skip
        return scores, found

    def write(self, path: str) -> None:
        """Save the index without its id hashtable, which is rebuilt when needed far faster than it is read back.

        Args:
            path: the file to write (a new file: a mapped index may be reading the old one, which is replaced).
        """
        kind = self.index.direct_map.type
        self.index.set_direct_map_type(faiss.DirectMap.NoMap)
        try:
            faiss.write_index(self.index, path)
        finally:
            self.index.set_direct_map_type(kind)

    def _direct_map(self) -> None:
        # A hashtable direct map lets remove_ids and reconstruct find a chunk id's list.
        if self.index.direct_map.type != faiss.DirectMap.Hashtable:
            self.index.set_direct_map_type(faiss.DirectMap.Hashtable)

    def _writable(self) -> None:
        # FAISS aborts the process on a change to lists that are views of a mapped file: copy them first.
        if self._file is not None:
            _compact(self.index)
            self._file = None

    def _id_lists(self) -> tuple[np.ndarray, np.ndarray]:
        if self._map is None:
            ids, lists = self._all_ids()
            order = np.argsort(ids, kind="stable")
            self._map = ids[order], lists[order]
        return self._map

    def _ranked_lists(self, queries: np.ndarray) -> np.ndarray:
        # Every list, nearest first (FAISS ranks them: a NumPy product here would wait on FAISS's idle threads).
        # Balanced search asks again with the same query for each language: the last ranking is kept.
        key = queries.tobytes()
        if self._last_ranking is None or self._last_ranking[0] != key:
            self._last_ranking = (key, self.index.quantizer.search(queries, self.index.nlist)[1])
        return self._last_ranking[1]

    def count(self) -> int:
        """Vectors held."""
        return int(self.index.ntotal)

    def ids(self) -> np.ndarray:
        """Held ids, sorted."""
        return self._id_lists()[0].copy()

    def all(self) -> tuple[np.ndarray, np.ndarray]:
        """Every (id, vector) held, read from the inverted lists (for a rebuild)."""
        invlists, dim = self.index.invlists, self.index.d
        ids, vectors = [], []
        for lst in range(self.index.nlist):
            size = invlists.list_size(lst)
            if size:
                ids.append(faiss.rev_swig_ptr(invlists.get_ids(lst), size).copy())
                codes = faiss.rev_swig_ptr(invlists.get_codes(lst), size * invlists.code_size)
                vectors.append(codes.view(np.float32 if self._float32 else np.float16).reshape(size, dim)
                               .astype(np.float32))
        if not ids:
            return np.empty(0, np.int64), np.empty((0, dim), np.float32)
        return np.concatenate(ids).astype(np.int64), np.concatenate(vectors)

    def _all_ids(self) -> tuple[np.ndarray, np.ndarray]:
        invlists, ids, lists = self.index.invlists, [], []
        for lst in range(self.index.nlist):
            size = invlists.list_size(lst)
            if size:
                ids.append(faiss.rev_swig_ptr(invlists.get_ids(lst), size).astype(np.int64))
                lists.append(np.full(size, lst, np.int64))
        if not ids:
            return np.empty(0, np.int64), np.empty(0, np.int64)
        return np.concatenate(ids), np.concatenate(lists)

    def _holds(self, ids: np.ndarray) -> np.ndarray:
        return positions_in(self._id_lists()[0], ids) >= 0
