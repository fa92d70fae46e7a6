"""Corroborated lead of balanced results: links between language versions and the group that leads."""

from __future__ import annotations

import numpy as np

from indexer import corroboration, retrieval
from indexer.retrieval import Hit, LanguageProfile

DIM = 32


def _unit(v: np.ndarray) -> np.ndarray:
    return (v / np.linalg.norm(v, axis=-1, keepdims=True)).astype(np.float32)


def _profiles(*languages: str) -> dict[str, LanguageProfile]:
    """Isotropic, centred profiles: a cosine of 0.9 calibrates to about 5, unrelated vectors to about 0."""
    return {lang: LanguageProfile(np.arange(0), np.zeros(DIM), np.eye(DIM) / DIM) for lang in languages}


class Passages:
    """Synthetic passages: chunk id -> vector, and hits with chosen calibrated scores."""

    def __init__(self, seed: int = 0):
        self.rng = np.random.default_rng(seed)
        self.vectors: dict[int, np.ndarray] = {}

    def random(self) -> np.ndarray:
        return _unit(self.rng.normal(size=DIM))

    def near(self, v: np.ndarray, noise: float) -> np.ndarray:
        return _unit(v + noise * self.rng.normal(size=DIM) / np.sqrt(DIM))

    def hit(self, chunk_id: int, language: str, z: float, vector: np.ndarray) -> Hit:
        self.vectors[chunk_id] = vector
        return Hit(chunk_id, 0.5, z, language)

    def vectors_of(self, ids: list[int]) -> np.ndarray:
        return np.stack([self.vectors[int(i)] for i in ids])


def test_three_versions_outrank_a_slightly_better_lone_passage() -> None:
    p = Passages()
    answer = p.random()
    by_language = {
        "en": [p.hit(1, "en", 6.0, p.random()), p.hit(2, "en", 5.5, p.near(answer, 0.1))],
        "de": [p.hit(11, "de", 5.0, p.near(answer, 0.1)), p.hit(12, "de", 1.0, p.random())],
        "fr": [p.hit(21, "fr", 5.0, p.near(answer, 0.1)), p.hit(22, "fr", 1.0, p.random())],
    }
    profiles = _profiles("en", "de", "fr")
    lead = corroboration.lead(by_language, 4.0, p.vectors_of, profiles, first=1)
    assert [h.chunk_id for h in lead] == [2, 11, 21] or [h.chunk_id for h in lead] == [2, 21, 11]
    ranked = retrieval.balanced(by_language, 4.0, 6, first=1, lead=lead)
    assert {h.chunk_id for h in ranked[:3]} == {2, 11, 21} and ranked[3].chunk_id == 1
    # Without corroboration the lone passage leads.
    assert retrieval.balanced(by_language, 4.0, 6, first=1)[0].chunk_id == 1


def test_the_plain_top_hit_heads_its_group() -> None:
    p = Passages()
    answer = p.random()
    by_language = {
        "en": [p.hit(1, "en", 5.0, p.near(answer, 0.1))],
        "de": [p.hit(11, "de", 6.0, p.near(answer, 0.1))],
    }
    lead = corroboration.lead(by_language, 4.0, p.vectors_of, _profiles("en", "de"), first=1)
    assert [h.chunk_id for h in lead] == [1, 11]


def test_links_are_mutual_nearest_across_languages_only() -> None:
    p = Passages()
    answer = p.random()
    # Two English passages near the one German one: it is the nearest of both, but only the closer is its own.
    vectors = np.stack([p.near(answer, 0.05), p.near(answer, 0.6), p.near(answer, 0.05), p.near(answer, 0.05)])
    languages = np.array(["en", "en", "de", "fr"])
    z = corroboration.cross_scores(vectors, languages, _profiles("en", "de", "fr"))
    linked = corroboration.links(vectors.astype(np.float64) @ vectors.T, languages, z)
    assert linked[0, 2] and linked[2, 0] and linked[0, 3] and linked[2, 3]
    assert not linked[1, 2] and not linked[1, 3]
    assert not linked[0, 1]  # near-identical, but the same language
    assert (linked == linked.T).all() and not linked.diagonal().any()


def test_dissimilar_passages_are_not_linked() -> None:
    p = Passages()
    vectors = np.stack([p.random(), p.random()])
    languages = np.array(["en", "de"])
    z = corroboration.cross_scores(vectors, languages, _profiles("en", "de"))
    assert z[0, 1] < corroboration.LINK_Z
    assert not corroboration.links(vectors.astype(np.float64) @ vectors.T, languages, z).any()


def test_one_language_keeps_the_balanced_order() -> None:
    p = Passages()
    answer = p.random()
    by_language = {"en": [p.hit(1, "en", 6.0, p.near(answer, 0.1)), p.hit(2, "en", 5.5, p.near(answer, 0.1))]}
    assert corroboration.lead(by_language, 4.0, p.vectors_of, _profiles("en"), first=1) == []


def test_an_irrelevant_group_does_not_lead() -> None:
    p = Passages()
    answer = p.random()
    by_language = {
        "en": [p.hit(1, "en", 2.0, p.near(answer, 0.1))],
        "de": [p.hit(11, "de", 2.0, p.near(answer, 0.1))],
    }
    assert corroboration.lead(by_language, 4.0, p.vectors_of, _profiles("en", "de"), first=1) == []


def test_a_lead_puts_at_most_lead_size_passages_first() -> None:
    # Twelve versions of one paragraph: the lead and three of them come first, the rest keep the balanced order,
    # so a wrong lead cannot fill the whole first page with one paragraph.
    p = Passages()
    answer = p.random()
    langs = [f"l{n}" for n in range(12)]
    by_language = {lang: [p.hit(10 * n + 1, lang, 5.0 + n / 10, p.near(answer, 0.1))] for n, lang in enumerate(langs)}
    lead = corroboration.lead(by_language, 4.0, p.vectors_of, _profiles(*langs))
    assert len(lead) == corroboration.LEAD_SIZE
    assert [h.chunk_id for h in lead] == [111, 101, 91, 81]  # best calibrated scores first


def _two_groups(p: Passages, versions: int) -> dict[str, list[Hit]]:
    """The plain top hit (1, English) with ``versions`` versions, and a better-scoring group of five others."""
    mine, other = p.random(), p.random()
    langs = [f"l{n}" for n in range(5)]
    by_language = {"en": [p.hit(1, "en", 4.5, p.near(mine, 0.1))]}
    for n, lang in enumerate(langs):
        hits = [p.hit(100 + n, lang, 7.0, p.near(other, 0.1))]
        if n < versions:
            hits.append(p.hit(200 + n, lang, 4.5, p.near(mine, 0.1)))
        by_language[lang] = hits
    by_language["de"] = [p.hit(300, "de", 7.0, p.near(other, 0.1))]
    return by_language


def test_a_plain_top_hit_corroborated_in_enough_languages_leads() -> None:
    p = Passages()
    by_language = _two_groups(p, corroboration.FIRST_VERSIONS)
    profiles = _profiles("en", "de", *(f"l{n}" for n in range(5)))
    lead = corroboration.lead(by_language, 4.0, p.vectors_of, profiles, first=1)
    assert lead[0].chunk_id == 1 and {h.chunk_id for h in lead[1:]} <= {200, 201, 202, 203}
    # One version fewer: the better-scoring group leads, as before.
    p = Passages()
    by_language = _two_groups(p, corroboration.FIRST_VERSIONS - 1)
    lead = corroboration.lead(by_language, 4.0, p.vectors_of, profiles, first=1)
    assert lead[0].chunk_id != 1 and 1 not in {h.chunk_id for h in lead}
