"""Retrieval strategies on synthetic vectors: calibration, balanced interleaving, facets, fusion."""

from __future__ import annotations

import numpy as np
import pytest

from indexer import retrieval
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
    ranked = retrieval.balanced(retrieval.per_language(index, query, profiles, None), 3.0, 4)
    ids = [h.chunk_id for h in ranked]
    assert {1000, 1001} <= set(ids) and {0, 1} <= set(ids)  # both languages' planted passages
    assert plain_langs.count("en") > 2


def test_languages_without_a_relevant_passage_come_last(world) -> None:
    index, profiles, query = world
    by_language = retrieval.per_language(index, query, profiles, None)
    # Russian loses its planted passages: its best is now unrelated, and ranks after every relevant English one.
    by_language["ru"] = [h for h in by_language["ru"] if h.chunk_id not in (1000, 1001)]
    ranked = retrieval.balanced(by_language, 3.0, 6)
    assert [h.chunk_id for h in ranked[:2]] in ([0, 1], [1, 0])
    assert all(h.z < 3.0 for h in ranked[2:]) and {h.language for h in ranked[2:]} == {"en", "ru"}


def test_the_users_own_query_keeps_every_third_slot_after_the_lead() -> None:
    def hits(lang: str, ids: list[int], z: float) -> list[retrieval.Hit]:
        return [retrieval.Hit(i, 0.8, z - n * 0.1, lang) for n, i in enumerate(ids)]

    # The fed-back query was pulled towards a wrong paragraph: its versions fill every language's best.
    moved = {"en": hits("en", [10, 11, 12, 13], 6.0), "ru": hits("ru", [20, 21, 22, 23], 5.9)}
    lead = moved["en"][:1] + moved["ru"][:1]
    unmoved = hits("en", [1, 10], 5.0) + hits("ru", [2], 4.5)  # the user's own query's hits, any language
    ranked = [h.chunk_id for h in retrieval.balanced(moved, 4.0, 8, lead=lead, unmoved=unmoved)]
    assert ranked[:2] == [10, 20]  # the lead stays as given
    assert ranked[4] == 1 and ranked[7] == 2  # every third slot after it: the own query's next unseen passage
    assert len(ranked) == len(set(ranked)) == 8
    assert 1 not in [h.chunk_id for h in retrieval.balanced(moved, 4.0, 8, lead=lead)]


def test_the_users_own_query_never_puts_an_irrelevant_passage_before_a_relevant_one() -> None:
    moved = {"en": [retrieval.Hit(i, 0.8, 6.0 - i * 0.1, "en") for i in range(10, 16)]}
    unmoved = [retrieval.Hit(10, 0.8, 5.0, "en"), retrieval.Hit(1, 0.5, 2.0, "en")]  # 1 is below the floor of 4
    ranked = [h.chunk_id for h in retrieval.balanced(moved, 4.0, 8, unmoved=unmoved)]
    assert ranked == [10, 11, 12, 13, 14, 15, 1]  # 1 waits until the relevant passages are listed


def test_facets_count_the_planted_passages(world) -> None:
    index, profiles, query = world
    hits = retrieval.nearest(index, query, profiles, None)
    # 200 passages in all: a small collection, where the floor follows the best calibrated score.
    facets = retrieval.count_relevant(hits, retrieval.relevance_floor(max(h.z for h in hits), 199))
    # The planted passages count, the 98 unrelated ones per language do not.
    assert set(facets) == {"en", "ru"} and all(1 <= n <= 2 for n in facets.values())


def test_small_collection_floor_follows_the_best_score() -> None:
    assert retrieval.relevance_floor(9.0, 10) == retrieval.RELEVANT_Z
    assert retrieval.relevance_floor(2.0, 10) == 2.0 - retrieval.SMALL_MARGIN
    assert retrieval.relevance_floor(2.0, 10_000) == retrieval.RELEVANT_Z


def test_feedback_moves_only_as_far_as_the_lead_justifies() -> None:
    query = _unit(np.eye(DIM)[0])
    seed = _unit(np.eye(DIM)[1])
    vectors = lambda ids: np.stack([seed for _ in ids])  # noqa: E731
    unsure = retrieval.feedback_query(query, [retrieval.Hit(1, 0.8, retrieval.FEEDBACK_Z0, "en")], vectors)
    sure = retrieval.feedback_query(query, [retrieval.Hit(1, 0.8, retrieval.FEEDBACK_Z0 + 9, "en")], vectors)
    half = retrieval.feedback_query(
        query, [retrieval.Hit(1, 0.8, retrieval.FEEDBACK_Z0 + retrieval.FEEDBACK_SPAN / 2, "en")], vectors
    )
    assert unsure is query
    assert float(sure @ seed) > float(half @ seed) > 0
    np.testing.assert_allclose(np.linalg.norm(sure), 1.0, rtol=1e-6)


def test_embedding_language_needs_a_clear_lead(world) -> None:
    _, profiles, query = world
    assert retrieval.embedding_language(query, profiles) == "en"
    gap = profiles["en"].mean - profiles["ru"].mean
    middle = _unit(query - (query @ gap) / (gap @ gap) * gap)  # no lean towards either language
    assert retrieval.embedding_language(middle, profiles) is None
    assert retrieval.embedding_language(query, {"en": profiles["en"]}) is None


def test_calibration_is_a_z_score_of_the_language_distribution(world) -> None:
    _, profiles, query = world
    profile = profiles["ru"]
    mean = float(query @ profile.mean)
    std = float(np.sqrt(query @ profile.cov @ query))
    np.testing.assert_allclose(profile.calibrate(query, np.array([mean, mean + 2 * std])), [0.0, 2.0], atol=1e-6)
    # The last query's spread is kept: another query, then the first again, each get their own.
    other = _unit(np.roll(query, 1))
    other_std = float(np.sqrt(other @ profile.cov @ other))
    one_std = np.array([other @ profile.mean + other_std])
    np.testing.assert_allclose(profile.calibrate(other, one_std), [1.0], atol=1e-5)
    np.testing.assert_allclose(profile.calibrate(query, np.array([mean + std])), [1.0], atol=1e-5)


def test_profiles_look_up_each_chunks_language(world) -> None:
    index, profiles, query = world
    assert list(profiles) == ["en", "ru"]
    # Ids of either language, one between them no profile holds, and one past the last.
    codes = profiles.codes(np.array([1001, 5, 500, 1099, 99_999]))
    assert codes.tolist() == [1, 0, -1, 1, -1]
    hits = retrieval.nearest(index, query, profiles, None, n=150)
    assert all(h.language == ("en" if h.chunk_id < 1000 else "ru") for h in hits)


def test_rrf_rewards_agreement_and_keeps_everything() -> None:
    fused = retrieval.rrf([1, 2, 3], [3, 4], k=10)
    assert [i for i, _ in fused][0] == 3
    assert {i for i, _ in fused} == {1, 2, 3, 4}
    assert len(retrieval.rrf([1, 2, 3], [3, 4], k=2)) == 2


def test_weighted_rrf_drops_weak_keyword_votes() -> None:
    # Keyword hit 9 shares a stop word only (weight 0): it neither enters nor pushes 3 down the keyword ranks.
    fused = retrieval.rrf([1, 2, 3], [9, 3], k=10, weights=[None, {9: 0.0, 3: 1.0}])
    assert [i for i, _ in fused] == [3, 1, 2]
