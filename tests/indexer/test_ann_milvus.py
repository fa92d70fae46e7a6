"""Milvus backend on Milvus Lite: the same results as FAISS exact, filters as expressions, alias swaps, descriptors."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest

from indexer.ann import create_index
from indexer.ann.milvus import MilvusIndex, id_filter, safe_uri
from indexer.errors import VectorIndexError

DIM = 32
_NAMES = itertools.count()


@pytest.fixture
def milvus(milvus_lite_uri: str):
    """A factory of Milvus indexes on the session's Milvus Lite engine, one collection per test."""
    made: list[MilvusIndex] = []
    collection = f"milvus_test_{next(_NAMES)}"

    def _make(**options) -> MilvusIndex:
        made.append(create_index("milvus", DIM, uri=milvus_lite_uri, collection=collection, **options))
        return made[-1]

    yield _make
    for index in made:
        index.close()


def _clustered(n: int, seed: int) -> np.ndarray:
    # Unit vectors around 20 centres: neighbours are close together, as real embeddings of one topic are.
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(20, DIM))
    v = centres[rng.integers(0, 20, n)] + 0.35 * rng.normal(size=(n, DIM))
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def test_same_results_as_faiss_exact_plain_and_filtered(milvus) -> None:
    ids, vectors = np.arange(3000, dtype=np.int64) * 3 + 1, _clustered(3000, 1)
    queries = _clustered(20, 2)
    index, exact = milvus(), create_index("faiss", DIM)
    index.index(ids, vectors)
    exact.index(ids, vectors)
    # A collection-like filter (a long run of ids) and a scattered one (every 7th id, as a language filter is).
    for allowed in (None, ids[500:1700], ids[::7]):
        scores, found = index.search(queries, 10, allowed)
        e_scores, e_found = exact.search(queries, 10, allowed)
        np.testing.assert_array_equal(found, e_found)
        np.testing.assert_allclose(scores, e_scores, atol=1e-5)


def test_deletes_and_upserts_match_faiss(milvus) -> None:
    ids, vectors = np.arange(500, dtype=np.int64), _clustered(500, 3)
    index, exact = milvus(), create_index("faiss", DIM)
    for target in (index, exact):
        target.index(ids, vectors)
        target.delete(np.arange(0, 500, 5))
        target.upsert(np.arange(1000, 1100), _clustered(100, 4))
    assert index.count() == exact.count() == 500
    np.testing.assert_array_equal(index.ids(), exact.ids())
    queries = _clustered(5, 5)
    np.testing.assert_array_equal(index.search(queries, 15)[1], exact.search(queries, 15)[1])


@pytest.mark.parametrize(
    "allowed, expected",
    [
        ([5], "id in [5]"),
        ([3, 1, 2], "id in [1, 2, 3]"),
        (list(range(10, 30)), "(id >= 10 and id <= 29)"),
        (list(range(10, 30)) + [40, 2], "(id >= 10 and id <= 29) or id in [2, 40]"),
    ],
)
def test_id_filter_turns_runs_into_ranges(allowed: list[int], expected: str) -> None:
    assert id_filter(np.array(allowed)) == expected


def test_id_filter_admits_exactly_the_allowed_ids(milvus) -> None:
    index = milvus()
    index.index(np.arange(400, dtype=np.int64), _clustered(400, 6))
    allowed = np.concatenate([np.arange(20, 80), [3, 150, 151, 399], np.arange(200, 260, 2)])
    found = index.search(_clustered(4, 7), 200, allowed)[1]
    assert set(found[found >= 0].ravel()) <= set(allowed.tolist())
    assert all(len(set(row[row >= 0])) == len(allowed) for row in found)


def test_reindex_swaps_the_alias_and_drops_the_old_collection(milvus) -> None:
    writer, reader = milvus(), milvus()
    writer.index(np.arange(50), _clustered(50, 8))
    assert reader.count() == 50
    first = writer._target()
    writer.index(np.arange(100, 130), _clustered(30, 9))
    # Another client (as on another machine) reads the new content through the same name.
    assert reader.count() == 30 and reader.ids()[0] == 100
    assert first not in writer._client.list_collections()
    assert writer._target() != first


def test_save_writes_a_descriptor_without_the_password(tmp_path: Path) -> None:
    assert safe_uri("http://root:secret@milvus.internal:19530") == "http://root:***@milvus.internal:19530"
    assert safe_uri("/data/vectors.db") == "/data/vectors.db"
    index = MilvusIndex(DIM, "http://root:secret@milvus.internal:19530")
    assert "secret" not in json.dumps(index.structure())


def test_load_refuses_a_descriptor_of_another_collection(milvus, milvus_lite_uri: str, tmp_path: Path) -> None:
    index = milvus()
    index.index(np.arange(5), _clustered(5, 10))
    index.save(tmp_path / "vectors.milvus")
    saved = json.loads((tmp_path / "vectors.milvus").read_text())
    assert saved == {
        "backend": "milvus",
        "uri": milvus_lite_uri,
        "collection": index.collection,
        "dim": DIM,
        "count": 5,
        "index_type": "FLAT",
        "max_id": 4,
    }
    other = create_index("milvus", DIM, uri=milvus_lite_uri, collection="someone_else")
    with pytest.raises(VectorIndexError, match="saved for collection .* but the settings name 'someone_else'"):
        other.load(tmp_path / "vectors.milvus")
    index._client.drop_collection(index._target())
    with pytest.raises(VectorIndexError, match="does not exist"):
        milvus().load(tmp_path / "vectors.milvus")


def test_hnsw_index_type_finds_each_vector_itself(milvus) -> None:
    index = milvus(index_type="hnsw")
    vectors = _clustered(300, 11)
    index.index(np.arange(300), vectors)
    assert index.structure()["type"] == "hnsw"
    found = index.search(vectors[:20], 1)[1][:, 0]
    np.testing.assert_array_equal(found, np.arange(20))


@pytest.mark.parametrize(
    "options, message",
    [({"uri": ""}, "milvus_uri is empty"), ({"uri": "x.db", "index_type": "DISKANN"}, "milvus_index='DISKANN'")],
)
def test_bad_settings_are_clear_errors(options: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        create_index("milvus", DIM, **options)


def test_max_id_comes_from_the_descriptor_without_listing_ids(
    milvus, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    index = milvus()
    index.index(np.array([3, 40, 7]), _clustered(3, 12))
    index.upsert(np.array([55]), _clustered(1, 13))
    index.save(tmp_path / "vectors.milvus")
    monkeypatch.setattr(MilvusIndex, "ids", lambda self: pytest.fail("listed every id"))
    loaded = milvus()
    loaded.load(tmp_path / "vectors.milvus")
    assert index.max_id() == loaded.max_id() == 55
    monkeypatch.undo()
    # Without a descriptor (an index opened by name only) it lists the ids once.
    assert milvus().max_id() == 55
