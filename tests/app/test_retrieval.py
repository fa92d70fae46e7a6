"""Retrieval strategies on synthetic vectors: calibration, balanced interleaving, facets, fusion."""

from __future__ import annotations

import numpy as np
import pytest

from app import retrieval
from indexer.ann import create_index

DIM = 32


def _unit(v: np.ndarray) -> np.ndarray:
    return (v / np.linalg.norm(v, axis=-1, keepdims=True)).astype(np.float32)


@pytest.fixture
def world():
    """Two languages with their own offset ("language component"); two planted matches per language."""
    rng = np.random.default_rng(0)
    topic = _unit(rng.normal(size=DIM))
    offsets = {"en": _unit(rng.normal(size=DIM)) * 2, "ru": _unit(rng.normal(size=DIM)) * 2}
    ids, vecs, langs = [], [], {}
    for n, lang in enumerate(["en", "ru"]):
        base = offsets[lang] + 0.3 * rng.normal(size=(100, DIM))
        base[:2] += topic * 2  # the two relevant passages
        langs[lang] = np.arange(n * 1000, n * 1000 + 100)
        ids.append(langs[lang])
        vecs.append(_unit(base))
    index = create_index("numpy", DIM)
    index.index(np.concatenate(ids), np.concatenate(vecs))
    vectors = dict(zip(np.concatenate(ids).tolist(), np.concatenate(vecs)))
    profiles = retrieval.build_profiles(langs, lambda ids: np.stack([vectors[int(i)] for i in ids]))
    query = _unit(2 * topic + offsets["en"])  # an English query: its language component favours English
    return index, profiles, query


def test_plain_search_favours_the_query_language_balanced_does_not(world) -> None:
    index, profiles, query = world
    _, found = index.search(query[None], 4)
    plain_langs = ["en" if i < 1000 else "ru" for i in found[0]]
    ranked, _ = retrieval.balanced(index, query, np.empty((0, DIM), np.float32), profiles, None, 4, int(found[0][0]))
    ids = [i for i, _ in ranked]
    assert ids[0] == found[0][0]
    assert {1000, 1001} <= set(ids) and {0, 1} <= set(ids)  # both languages' planted passages
    assert plain_langs.count("en") > 2


def test_facets_count_the_planted_passages(world) -> None:
    index, profiles, query = world
    facets = retrieval.language_facets(index, query, profiles, None)
    # The planted passages count, the 98 unrelated ones per language do not.
    assert set(facets) == {"en", "ru"} and all(1 <= n <= 2 for n in facets.values())


def test_calibration_is_a_z_score_of_the_language_distribution(world) -> None:
    _, profiles, query = world
    profile = profiles["ru"]
    mean = float(query @ profile.mean)
    std = float(np.sqrt(query @ profile.cov @ query))
    np.testing.assert_allclose(profile.calibrate(query, np.array([mean, mean + 2 * std])), [0.0, 2.0], atol=1e-6)


def test_rrf_rewards_agreement_and_keeps_everything() -> None:
    fused = retrieval.rrf([1, 2, 3], [3, 4], k=10)
    assert [i for i, _ in fused][0] == 3
    assert {i for i, _ in fused} == {1, 2, 3, 4}
    assert len(retrieval.rrf([1, 2, 3], [3, 4], k=2)) == 2
