"""Contract of every vector index backend, checked against the NumPy brute-force oracle.

Milvus runs on Milvus Lite (the embedded engine, a real one); under CI its absence fails these tests.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from indexer.ann import VectorIndex, create_index
from indexer.ann.numpy import NumpyIndex
from indexer.errors import VectorIndexError

DIM = 16
BACKENDS = ["faiss", "milvus", "numpy"]
_COLLECTIONS = itertools.count()


@pytest.fixture
def make(request: pytest.FixtureRequest) -> Iterator[Callable[..., VectorIndex]]:
    """``make(backend, dim)``: an empty index; Milvus ones share the session's Milvus Lite engine, each with its own
    collection (every index made in one test shares that test's collection, as a saved index and its reload do)."""
    made: list[VectorIndex] = []
    collection = f"contract_{next(_COLLECTIONS)}"

    def _make(backend: str, dim: int = DIM) -> VectorIndex:
        options = {}
        if backend == "milvus":
            options = {"uri": request.getfixturevalue("milvus_lite_uri"), "collection": f"{collection}_{dim}"}
        made.append(create_index(backend, dim, **options))
        return made[-1]

    yield _make
    for index in made:
        index.close()


def _vectors(n: int, seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=(n, DIM)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _oracle(ids: np.ndarray, vectors: np.ndarray) -> NumpyIndex:
    index = NumpyIndex(DIM)
    index.index(ids, vectors)
    return index


@pytest.mark.parametrize("backend", BACKENDS)
def test_contract_index_save_load_append_delete_search(
    backend: str, tmp_path: Path, make: Callable[..., VectorIndex]
) -> None:
    ids, vectors = np.arange(200, dtype=np.int64) * 7 + 3, _vectors(200, 1)
    queries = _vectors(5, 2)
    index = make(backend)
    index.index(ids, vectors)
    index.save(tmp_path / "v.idx")

    loaded = make(backend)
    loaded.load(tmp_path / "v.idx")
    assert loaded.count() == 200
    np.testing.assert_array_equal(loaded.ids(), np.sort(ids))

    more_ids, more = np.arange(5000, 5050, dtype=np.int64), _vectors(50, 3)
    loaded.upsert(more_ids, more)
    removed = loaded.delete(np.array([3, 10, 999999]))
    np.testing.assert_array_equal(removed, [3, 10])
    assert loaded.count() == 248

    all_ids = np.concatenate([ids, more_ids])
    all_vectors = np.concatenate([vectors, more])
    keep = ~np.isin(all_ids, [3, 10])
    oracle = _oracle(all_ids[keep], all_vectors[keep])
    scores, found = loaded.search(queries, 10)
    o_scores, o_found = oracle.search(queries, 10)
    np.testing.assert_array_equal(found, o_found)
    np.testing.assert_allclose(scores, o_scores, rtol=1e-5, atol=1e-5)
    assert not np.isin(found, [3, 10]).any()


@pytest.mark.parametrize("backend", BACKENDS)
def test_filter_is_applied_inside_the_search(backend: str, make: Callable[..., VectorIndex]) -> None:
    ids, vectors = np.arange(100, dtype=np.int64), _vectors(100, 4)
    index = make(backend)
    index.index(ids, vectors)
    allowed = np.arange(0, 100, 9, dtype=np.int64)  # 12 ids
    scores, found = index.search(_vectors(3, 5), 20, allowed)
    # Only 12 ids are allowed: the other 8 slots are empty, not filled with filtered-out ids.
    assert np.isin(found[:, :12], allowed).all()
    assert (found[:, 12:] == -1).all() and np.isneginf(scores[:, 12:]).all()
    o_scores, o_found = _oracle(ids[allowed], vectors[allowed]).search(_vectors(3, 5), 20)
    np.testing.assert_array_equal(found, o_found)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_filter_of_the_first_ids_returns_only_those(backend: str, make: Callable[..., VectorIndex]) -> None:
    ids, vectors = np.arange(100, dtype=np.int64), _vectors(100, 6)
    index = make(backend)
    index.index(ids, vectors)
    queries = _vectors(5, 7)
    # The same filter array twice (a language filter comes back so) and a fresh copy of it: the same results.
    allowed = np.arange(30, dtype=np.int64)
    first, again, copied = (index.search(queries, 10, a)[1] for a in (allowed, allowed, allowed.copy()))
    np.testing.assert_array_equal(first, _oracle(ids[:30], vectors[:30]).search(queries, 10)[1])
    np.testing.assert_array_equal(again, first)
    np.testing.assert_array_equal(copied, first)


@pytest.mark.parametrize("backend", BACKENDS)
def test_upsert_replaces_the_vector_of_an_existing_id(backend: str, make: Callable[..., VectorIndex]) -> None:
    index = make(backend)
    v = _vectors(3, 6)
    index.index(np.array([1, 2, 3]), v)
    index.upsert(np.array([2]), v[:1])
    assert index.count() == 3
    scores, found = index.search(v[:1], 2)
    assert set(found[0].tolist()) == {1, 2}
    np.testing.assert_allclose(scores[0], [1.0, 1.0], atol=1e-5)


@pytest.mark.parametrize("backend", BACKENDS)
def test_empty_index_and_empty_filter_return_no_results(backend: str, make: Callable[..., VectorIndex]) -> None:
    index = make(backend)
    scores, found = index.search(_vectors(2, 7), 5)
    assert (found == -1).all()
    index.index(np.arange(10), _vectors(10, 8))
    scores, found = index.search(_vectors(2, 7), 5, np.array([], dtype=np.int64))
    assert (found == -1).all()


@pytest.mark.parametrize("backend", BACKENDS)
def test_corrupt_or_wrong_dimension_file_is_a_clear_error(
    backend: str, tmp_path: Path, make: Callable[..., VectorIndex]
) -> None:
    bad = tmp_path / "bad.idx"
    bad.write_bytes(b"not an index")
    with pytest.raises(VectorIndexError, match="unreadable"):
        make(backend).load(bad)
    other = make(backend, DIM * 2)
    other.index(np.arange(3), np.ones((3, DIM * 2), np.float32))
    other.save(tmp_path / "other.idx")
    with pytest.raises(VectorIndexError, match="dimension"):
        make(backend).load(tmp_path / "other.idx")


def test_unknown_backend_names_the_choices() -> None:
    with pytest.raises(ValueError, match="faiss.*numpy"):
        create_index("annoy", DIM)
