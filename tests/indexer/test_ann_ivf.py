"""The FAISS index past its exact threshold: IVF search, deletes, filters, growth, save and load."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from indexer.ann.faiss import FaissIndex
from indexer.ann.ivf import list_count, probe_count
from indexer.ann.numpy import NumpyIndex

DIM = 32


def _clustered(n: int, seed: int, centres: int = 40) -> np.ndarray:
    # Points around a few centres, like embeddings of related passages (uniform noise would defeat any ANN).
    rng = np.random.default_rng(seed)
    c = rng.normal(size=(centres, DIM))
    v = c[rng.integers(0, centres, n)] + 0.35 * rng.normal(size=(n, DIM))
    # float16 values, as the database stores them and the IVF lists hold them: exact search agrees to the bit.
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float16).astype(np.float32)


def _oracle(ids: np.ndarray, vectors: np.ndarray) -> NumpyIndex:
    index = NumpyIndex(DIM)
    index.index(ids, vectors)
    return index


def _recall(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(t)) / len(t) for f, t in zip(found, truth)]))


@pytest.fixture
def data() -> tuple[np.ndarray, np.ndarray]:
    return np.arange(4000, dtype=np.int64) * 3 + 1, _clustered(4000, 1)


def test_small_indexes_are_exact_and_large_ones_become_ivf(data) -> None:
    ids, vectors = data
    small = FaissIndex(DIM, exact_below=5000)
    small.index(ids, vectors)
    assert small.structure()["type"] == "flat"
    large = FaissIndex(DIM, exact_below=4000)
    large.index(ids, vectors)
    nlist = list_count(4000)
    assert large.structure() == {"type": "ivf-fp16", "nlist": nlist, "nprobe": probe_count(nlist)}
    assert large.count() == 4000
    np.testing.assert_array_equal(large.ids(), ids)


def test_visiting_every_list_is_exact_and_the_default_probe_keeps_recall(data) -> None:
    ids, vectors = data
    queries = _clustered(50, 2)
    _, truth = _oracle(ids, vectors).search(queries, 10)
    everything = FaissIndex(DIM, exact_below=0, nprobe=10_000)
    everything.index(ids, vectors)
    np.testing.assert_array_equal(everything.search(queries, 10)[1], truth)
    default = FaissIndex(DIM, exact_below=0)
    default.index(ids, vectors)
    assert _recall(default.search(queries, 10)[1], truth) >= 0.9


def test_a_restrictive_filter_is_searched_exactly(data) -> None:
    ids, vectors = data
    index = FaissIndex(DIM, exact_below=0, nprobe=2)
    index.index(ids, vectors)
    allowed = ids[::97]  # 42 ids: a filter far below one list's share visits every list
    queries = _clustered(20, 3)
    scores, found = index.search(queries, 10, allowed)
    o_scores, o_found = _oracle(ids[::97], vectors[::97]).search(queries, 10)
    np.testing.assert_array_equal(found, o_found)
    np.testing.assert_allclose(scores, o_scores, atol=1e-5)
    # Ids not held are ignored, and a filter of only those gives no results.
    _, none = index.search(queries[:1], 5, np.array([2, 5, 8], dtype=np.int64))
    assert (none == -1).all()


def test_delete_upsert_save_and_load_keep_the_ivf(data, tmp_path: Path) -> None:
    ids, vectors = data
    index = FaissIndex(DIM, exact_below=0, nprobe=10_000)
    index.index(ids, vectors)
    removed = index.delete(np.array([1, 4, 2]))
    np.testing.assert_array_equal(removed, [1, 4])
    index.upsert(np.array([7]), vectors[:1])  # id 7 now holds the vector of id 1
    index.save(tmp_path / "v.faiss")
    loaded = FaissIndex(DIM, exact_below=0, nprobe=10_000)
    loaded.load(tmp_path / "v.faiss")
    assert loaded.structure()["type"] == "ivf-fp16" and loaded.count() == 3998
    np.testing.assert_array_equal(loaded.ids(), index.ids())
    _, found = loaded.search(vectors[:1], 1)
    assert found[0, 0] == 7
    # The file holds no id hashtable (reading one back is slow); the loaded index rebuilds it, so deletes still
    # find their lists and a small filter still reads its vectors back, as does the index that wrote the file.
    import faiss

    assert faiss.read_index(str(tmp_path / "v.faiss")).direct_map.type == faiss.DirectMap.NoMap
    for held in (loaded, index):
        _, few = held.search(vectors[:1], 1, np.array([7, 9], dtype=np.int64))
        assert few[0, 0] == 7
        np.testing.assert_array_equal(held.delete(np.array([7])), [7])
        assert 7 not in held.search(vectors[:1], 5)[1]


def test_a_loaded_ivf_maps_its_file_and_copies_the_lists_on_its_first_write(data, tmp_path: Path) -> None:
    ids, vectors = data
    path = tmp_path / "v.faiss"
    written = FaissIndex(DIM, exact_below=0, nprobe=10_000)
    written.index(ids, vectors)
    written.save(path)
    queries = _clustered(5, 8)
    loaded = {}
    for write in ("upsert", "delete", "none"):
        loaded[write] = FaissIndex(DIM, exact_below=0, nprobe=10_000)
        loaded[write].load(path)
        assert loaded[write]._ivf._mapped
        np.testing.assert_array_equal(loaded[write].search(queries, 10)[1], written.search(queries, 10)[1])
    # Warming reads the file ahead and builds the id copy and hashtable, and still copies no list into memory.
    loaded["none"].warm()
    loaded["none"].prepare()
    import faiss

    ivf = loaded["none"]._ivf
    assert ivf._mapped and ivf._map is not None and ivf.index.direct_map.type == faiss.DirectMap.Hashtable
    # Each kind of write works on the mapped index (FAISS would abort the process on a change to a mapped list).
    loaded["upsert"].upsert(np.array([5, 90_000]), vectors[:2])
    loaded["delete"].delete(ids[:2])
    assert not loaded["upsert"]._ivf._mapped and not loaded["delete"]._ivf._mapped
    assert 90_000 not in ids and np.isin([5, 90_000], loaded["upsert"].ids()).all()
    assert set(loaded["upsert"].search(vectors[:1], 2)[1][0]) == {ids[0], 5}  # id 5 now holds the first vector
    assert not np.isin(ids[:2], loaded["delete"].ids()).any() and loaded["delete"].count() == len(ids) - 2
    assert not np.isin(ids[:2], loaded["delete"].search(vectors[:2], 5)[1]).any()
    # A writer replaces the file while another index maps it: the reader keeps answering from the old file.
    written.delete(ids[:100])
    written.save(path)
    np.testing.assert_array_equal(loaded["none"].search(queries, 10)[1], _oracle(ids, vectors).search(queries, 10)[1])
    fresh = FaissIndex(DIM, exact_below=0, nprobe=10_000)
    fresh.load(path)
    assert fresh.count() == len(ids) - 100


def test_growing_past_the_threshold_converts_and_growing_more_retrains() -> None:
    vectors = _clustered(9000, 4)
    index = FaissIndex(DIM, exact_below=2000, nprobe=10_000)
    index.upsert(np.arange(1500), vectors[:1500])
    assert index.structure()["type"] == "flat"
    index.upsert(np.arange(1500, 2500), vectors[1500:2500])
    first = index.structure()
    assert first["type"] == "ivf-fp16" and first["nlist"] == list_count(2500)
    index.upsert(np.arange(2500, 9000), vectors[2500:])
    assert index.structure()["nlist"] == list_count(9000) > first["nlist"]
    assert index.count() == 9000
    _, truth = _oracle(np.arange(9000), vectors).search(vectors[:5], 10)
    np.testing.assert_array_equal(index.search(vectors[:5], 10)[1], truth)


def test_a_broad_filter_visits_the_lists_nearest_the_query_that_hold_allowed_ids(data, monkeypatch) -> None:
    monkeypatch.setattr("indexer.ann.ivf.EXACT_FILTER", 0)  # every filter takes the list-visiting path
    ids, vectors = data
    allowed = ids[(ids // 3) % 4 != 0]  # three quarters, spread over every list
    queries = _clustered(30, 5)
    _, truth = _oracle(allowed, vectors[(ids // 3) % 4 != 0]).search(queries, 10)
    everything = FaissIndex(DIM, exact_below=0, nprobe=10_000)
    everything.index(ids, vectors)
    np.testing.assert_array_equal(everything.search(queries, 10, allowed)[1], truth)
    default = FaissIndex(DIM, exact_below=0)
    default.index(ids, vectors)
    _, found = default.search(queries, 10, allowed)
    assert np.isin(found, allowed).all()
    assert _recall(found, truth) >= 0.9


def test_the_list_copy_follows_adds_and_deletes(data, monkeypatch) -> None:
    monkeypatch.setattr("indexer.ann.ivf.EXACT_FILTER", 0)
    ids, vectors = data
    index = FaissIndex(DIM, exact_below=0, nprobe=10_000)
    index.index(ids[1:], vectors[1:])
    index.upsert(np.array([2]), vectors[:1])  # an id below the largest: merged, not appended
    index.upsert(np.array([50_000]), vectors[:1])
    allowed = np.array([2, 50_000, *ids[1:2000]])
    _, found = index.search(vectors[:1], 2, allowed)
    assert sorted(found[0].tolist()) == [2, 50_000]
    index.delete(np.array([2]))
    _, found = index.search(vectors[:1], 1, allowed)
    assert found[0, 0] == 50_000


def test_a_streamed_build_holds_what_a_whole_build_holds(data) -> None:
    ids, vectors = data
    calls = []

    def batches():
        calls.append(1)
        return ((ids[i:i + 700], vectors[i:i + 700]) for i in range(0, len(ids), 700))

    streamed = FaissIndex(DIM, exact_below=1000, nprobe=10_000)
    streamed.index_batches(len(ids), batches)
    assert len(calls) == 3  # one pass to sample the training set, one to find each vector's list, one to add
    assert streamed.structure()["nlist"] == list_count(len(ids))
    np.testing.assert_array_equal(streamed.ids(), ids)
    queries = _clustered(10, 6)
    np.testing.assert_array_equal(streamed.search(queries, 10)[1], _oracle(ids, vectors).search(queries, 10)[1])
    small = FaissIndex(DIM, exact_below=10_000)
    small.index_batches(len(ids), batches)
    assert small.structure()["type"] == "flat" and small.count() == len(ids)


def test_an_ivf_flat_file_of_an_earlier_release_still_loads(data, tmp_path: Path) -> None:
    import faiss

    from indexer.vectors import structure_label

    ids, vectors = data
    old = faiss.IndexIVFFlat(faiss.IndexFlatIP(DIM), DIM, 16, faiss.METRIC_INNER_PRODUCT)
    old.train(vectors)
    old.set_direct_map_type(faiss.DirectMap.Hashtable)
    old.add_with_ids(vectors, ids)
    faiss.write_index(old, str(tmp_path / "v.faiss"))
    index = FaissIndex(DIM, exact_below=0, nprobe=10_000)
    index.load(tmp_path / "v.faiss")
    assert index.structure()["type"] == "ivf-flat"
    assert "float32 vectors" in structure_label({"backend": "faiss", "structure": index.structure()})
    queries = _clustered(5, 7)
    np.testing.assert_array_equal(index.search(queries, 10)[1], _oracle(ids, vectors).search(queries, 10)[1])
    held_ids, held = index._ivf.all()  # what a retraining rebuilds from
    order = np.argsort(held_ids)
    np.testing.assert_array_equal(held_ids[order], ids)
    np.testing.assert_array_equal(held[order], vectors)


def test_a_filter_to_another_language_keeps_recall_by_scanning_more_of_its_vectors(monkeypatch) -> None:
    # Two "languages": the same topics, each language shifted along its own direction, as e5 vectors are. A query
    # in language A filtered to language B finds B's passages on its topic scattered over lists led by B.
    monkeypatch.setattr("indexer.ann.ivf.EXACT_FILTER", 0)
    monkeypatch.setattr("indexer.ann.ivf.MIN_PROBE", 1)  # the visited share alone decides, as at a million
    rng = np.random.default_rng(3)
    topics, shift = rng.normal(size=(200, DIM)), rng.normal(size=(2, DIM)) * 1.2
    lang = rng.integers(0, 2, 20_000)
    v = topics[rng.integers(0, 200, 20_000)] + shift[lang] + 0.5 * rng.normal(size=(20_000, DIM))
    vectors = (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float16).astype(np.float32)
    ids = np.arange(1, 20_001, dtype=np.int64)
    q = topics[rng.integers(0, 200, 60)] + shift[0] + 0.5 * rng.normal(size=(60, DIM))
    queries = (q / np.linalg.norm(q, axis=1, keepdims=True)).astype(np.float32)
    allowed = ids[lang == 1]
    _, truth = _oracle(allowed, vectors[lang == 1]).search(queries, 10)
    index = FaissIndex(DIM, exact_below=0, nprobe=2)
    index.index(ids, vectors)
    recall = _recall(index.search(queries, 10, allowed)[1], truth)
    # A quick search (one of a balanced search's, one per language) scans less and keeps most of that recall.
    quick = _recall(index.search(queries, 10, allowed, quick=True)[1], truth)
    assert 0.9 <= quick < recall, (quick, recall)
    monkeypatch.setattr("indexer.ann.ivf.FILTER_PROBE_FACTOR", 1)
    index._ivf._filters.clear()
    assert recall >= 0.98 and _recall(index.search(queries, 10, allowed)[1], truth) < 0.9


def test_a_filter_of_the_first_ids_never_returns_a_later_one() -> None:
    # A filter's bitmap ends at its largest id: every id past it is outside the filter (a collection filter at
    # scale is such a run of early ids).
    ids, vectors = np.arange(12_000, dtype=np.int64), _clustered(12_000, 7)
    index = FaissIndex(DIM, exact_below=0)
    index.index(ids, vectors)
    allowed = ids[:6000]  # more than EXACT_FILTER: searched through the bitmap
    for quick in (False, True):
        _, found = index.search(_clustered(50, 8), 10, allowed, quick=quick)
        assert (found >= 0).all() and (found < 6000).all()


class _Recording:
    """A FAISS index that notes the OpenMP threads each build and search call ran with."""

    def __init__(self, inner, seen: list[tuple[str, int]]):
        self.inner, self.seen = inner, seen

    def __getattr__(self, name: str):
        return getattr(self.inner, name)

    def add_with_ids(self, *args):
        import faiss

        self.seen.append(("add", faiss.omp_get_max_threads()))
        return self.inner.add_with_ids(*args)

    def search(self, queries, *args, **kwargs):
        import faiss

        self.seen.append((f"search {len(queries)}", faiss.omp_get_max_threads()))
        return self.inner.search(queries, *args, **kwargs)


@pytest.mark.parametrize("threads", [3, 0])
def test_the_threads_setting_reaches_faiss_in_whichever_thread_calls(tmp_path: Path, monkeypatch, threads) -> None:
    # OpenMP keeps its thread count per calling thread: a service built in one thread and searched from another
    # (the UI's sessions, a worker's pool) must still get the setting. One query runs on one thread.
    import threading

    import faiss

    from indexer.ann.factory import index_options
    from indexer.config import load_settings

    seen: list[tuple[str, int]] = []
    empty = FaissIndex._empty_flat
    monkeypatch.setattr(FaissIndex, "_empty_flat", lambda self: _Recording(empty(self), seen))
    index = FaissIndex(DIM, **index_options(load_settings(str(tmp_path), environ={}, threads=threads or None)))
    ids, vectors = np.arange(500, dtype=np.int64), _clustered(500, 3)
    after: list[int] = []

    def calls() -> None:
        faiss.omp_set_num_threads(2)  # this thread's own setting, as a caller may have it
        index.index(ids, vectors)
        index.search(vectors[:1], 5)
        index.search(vectors[:1], 5, ids[:100])
        index.search(vectors[:32], 5)
        after.append(faiss.omp_get_max_threads())

    worker = threading.Thread(target=calls)
    worker.start()
    worker.join()
    wanted = threads or 2  # 0: the caller's setting stands
    assert seen == [("add", wanted), ("search 1", 1), ("search 1", 1), ("search 32", wanted)]
    assert after == [2]


def test_a_vector_the_list_pass_did_not_see_is_still_added(data) -> None:
    # The database may change between the passes of a streamed build: a vector that came meanwhile is added too.
    ids, vectors = data
    passes = []

    def batches():
        passes.append(1)
        n = len(ids) if len(passes) == 3 else len(ids) - 1
        return iter([(ids[:n], vectors[:n])])

    index = FaissIndex(DIM, exact_below=1000, nprobe=10_000)
    index.index_batches(len(ids), batches)
    np.testing.assert_array_equal(index.ids(), ids)
    _, found = index.search(vectors[-1:], 1)
    assert found[0, 0] == ids[-1]
