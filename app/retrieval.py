"""Retrieval strategies over the vector index: plain, language-balanced, hybrid (dense + keyword)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from indexer.ann import VectorIndex

#: Reciprocal rank fusion constant (the usual 60).
RRF_K = 60
#: Weight of the top hits' vectors added to the query when searching other languages.
FEEDBACK_WEIGHT = 1.0
#: Top plain hits used as feedback (XQuAD, 12 languages: 1 hit → 10.7 language versions in the top 12, 3 → 8.6).
FEEDBACK_HITS = 1
#: Calibrated score above which a passage counts as relevant in the language facets.
FACET_Z = 3.5
#: In small collections: how far below the best calibrated score a passage still counts as relevant.
FACET_MARGIN = 1.0


@dataclass
class LanguageProfile:
    """How a language's chunks spread in embedding space: mean vector and covariance.

    For a query q, the scores of all chunks of the language have mean ``q·mean`` and variance
    ``qᵀ·cov·q``: a z-score against that distribution makes scores comparable across languages.
    """

    ids: np.ndarray
    mean: np.ndarray
    cov: np.ndarray

    def calibrate(self, query: np.ndarray, scores: np.ndarray) -> np.ndarray:
        """z-scores of ``scores`` against this language's score distribution for ``query``."""
        std = float(np.sqrt(max(query @ self.cov @ query, 1e-12)))
        return (scores - float(query @ self.mean)) / std


def build_profiles(language_ids: dict[str, np.ndarray], vectors_of: callable, sample: int = 4000,
                   seed: int = 0) -> dict[str, LanguageProfile]:
    """Profile each language from (a sample of) its chunk vectors.

    Args:
        language_ids: chunk ids per language.
        vectors_of: returns the float32 vectors of some chunk ids.
        sample: most chunks read per language.
        seed: sampling seed.

    Returns:
        A profile per language.
    """
    rng = np.random.default_rng(seed)
    out = {}
    for lang, ids in language_ids.items():
        picked = ids if len(ids) <= sample else rng.choice(ids, sample, replace=False)
        vecs = vectors_of(picked).astype(np.float64)
        # A language with one chunk has no spread: fall back to an isotropic unit-variance-ish covariance.
        cov = np.cov(vecs, rowvar=False) if len(vecs) > 1 else np.eye(vecs.shape[1]) / vecs.shape[1]
        out[lang] = LanguageProfile(ids, vecs.mean(axis=0), cov + np.eye(vecs.shape[1]) * 1e-6)
    return out


def feedback_query(query: np.ndarray, seeds: np.ndarray) -> np.ndarray:
    """The query moved towards its best hits, so that their translations rank first in other languages."""
    if not len(seeds):
        return query
    moved = query + FEEDBACK_WEIGHT * seeds.mean(axis=0)
    return (moved / np.linalg.norm(moved)).astype(np.float32)


def balanced(index: VectorIndex, query: np.ndarray, seeds: np.ndarray, profiles: dict[str, LanguageProfile],
             allowed: np.ndarray | None, k: int, first: int | None) -> tuple[list[tuple[int, float]], dict[str, int]]:
    """Language-balanced ranking: the best passages of every language, interleaved by calibrated score.

    Args:
        index: the vector index.
        query: the normalised query vector.
        seeds: vectors of the plain search's top hits (relevance feedback).
        profiles: per-language profiles (``build_profiles``).
        allowed: ids permitted by the user's filters (None = all).
        k: results wanted.
        first: the plain search's top hit, kept at rank 1 so the top result never gets worse.

    Returns:
        ([(chunk id, raw score)], relevant passages per language).
    """
    moved = feedback_query(query, seeds)
    per_lang: dict[str, list[tuple[int, float, float]]] = {}
    facets = {}
    for lang, profile in profiles.items():
        ids = profile.ids if allowed is None else np.intersect1d(profile.ids, allowed, assume_unique=True)
        if not len(ids):
            continue
        scores, found = index.search(moved[None, :], max(k, 50), ids)
        keep = found[0] >= 0
        z = profile.calibrate(moved, scores[0][keep])
        per_lang[lang] = [(int(i), float(s), float(zz)) for i, s, zz in zip(found[0][keep], scores[0][keep], z)]
        facets[lang] = int((z >= FACET_Z).sum())
    # Round r holds every language's r-th best passage, ordered by calibrated score.
    ordered = sorted(((r, -zz, i, s) for hits in per_lang.values() for r, (i, s, zz) in enumerate(hits)))
    out, seen = [], set()
    if first is not None:
        seen.add(first)
        out.append(first)
    out += [i for _, _, i, _ in ordered if i not in seen and not seen.add(i)]
    raw = {i: s for hits in per_lang.values() for i, s, _ in hits}
    return [(i, raw.get(i, float("nan"))) for i in out[:k]], facets


def rrf(*rankings: list[int], k: int) -> list[tuple[int, float]]:
    """Reciprocal rank fusion of several rankings of chunk ids.

    Args:
        *rankings: lists of chunk ids, best first.
        k: results wanted.

    Returns:
        (chunk id, fused score) pairs, best first.
    """
    fused: dict[int, float] = {}
    for ranking in rankings:
        for rank, chunk_id in enumerate(ranking):
            fused[chunk_id] = fused.get(chunk_id, 0.0) + 1.0 / (RRF_K + rank + 1)
    return sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))[:k]


def language_facets(index: VectorIndex, query: np.ndarray, profiles: dict[str, LanguageProfile],
                    allowed: np.ndarray | None, n: int = 200) -> dict[str, int]:
    """Relevant passages per language among the query's ``n`` nearest, judged by calibrated score.

    A passage counts when its z-score passes ``FACET_Z``, or, in a small collection where nothing
    stands out that far, when it comes within ``FACET_MARGIN`` of the best z-score.

    Args:
        index: the vector index.
        query: the normalised query vector.
        profiles: per-language profiles.
        allowed: ids permitted by the user's filters (None = all).
        n: how many nearest passages to look at.

    Returns:
        Language code → number of relevant passages.
    """
    scores, found = index.search(query[None, :], n, allowed)
    z_by_lang = {}
    for lang, profile in profiles.items():
        mask = np.isin(found[0], profile.ids)
        if mask.any():
            z_by_lang[lang] = profile.calibrate(query, scores[0][mask])
    if not z_by_lang:
        return {}
    threshold = min(FACET_Z, max(float(z.max()) for z in z_by_lang.values()) - FACET_MARGIN)
    return {lang: int((z >= threshold).sum()) for lang, z in z_by_lang.items()}
