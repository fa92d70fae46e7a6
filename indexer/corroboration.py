"""Corroborated lead for language-balanced results: the passage whose versions in other languages also match.

A passage and its translation are each other's nearest passage in the other's language, and their similarity
stands out against what that language's passages usually score. Linking such pairs among the best passages of
every language finds the answer's language versions; the passage backed by the most relevant versions leads the
balanced results, with its versions right after it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from indexer.retrieval import Hit, LanguageProfile

#: Best passages of each language considered for the lead (chosen with the two below on the calibration seed of
#: bench/crosslang; 2 to 5 tried, more adds cost and no better lead).
POOL_PER_LANGUAGE = 3
#: Calibrated similarity (both ways) from which two passages of different languages count as versions of each
#: other (3.5 to 4.5 tried on the calibration seed; lower links unrelated passages, higher misses translations).
LINK_Z = 4.0
#: Weight of each linked version's calibrated score in its partner's group score (0.3 to 1.0 tried; 0.5 lets
#: corroboration decide between close passages without burying a clearly better lone one).
PARTNER_WEIGHT = 0.5
#: The plain search's top hit leads, with its versions, when it has linked versions in at least this many other
#: languages, whatever the group scores (2 to 5 tried on the calibration seeds and questions of bench/crosslang: 4
#: gains on the full corpus and changes nothing where paragraphs exist in 3 languages; 2 loses there, since a
#: complete 3-language group of the query's language then always leads).
FIRST_VERSIONS = 4
#: Most passages the lead puts first: itself and three versions (on the calibration seed, a wrong lead with all
#: eleven of its versions pushed the right paragraph out of the top ten; four keep the versions' gain).
LEAD_SIZE = 4


def cross_scores(vectors: np.ndarray, languages: np.ndarray, profiles: dict[str, LanguageProfile]) -> np.ndarray:
    """Calibrated similarity of every passage to every other: passage i taken as a query against j's language.

    Args:
        vectors: the passages' normalised vectors, one row each.
        languages: each passage's language (a key of ``profiles``).
        profiles: per-language profiles.

    Returns:
        ``z[i, j]``: the cosine of i and j as a z-score of j's language distribution for query i.
    """
    vectors = vectors.astype(np.float32)
    cosines = vectors @ vectors.T
    z = np.empty_like(cosines)
    for lang in set(languages.tolist()):
        cols = languages == lang
        profile = profiles[lang]
        # Per query row, the same mean and spread as LanguageProfile.calibrate, for all rows at once.
        cov, mean = profile.cov32(), profile.mean.astype(np.float32)
        std = np.sqrt(np.maximum(((vectors @ cov) * vectors).sum(axis=1), 1e-12))
        z[:, cols] = (cosines[:, cols] - (vectors @ mean)[:, None]) / std[:, None]
    return z


def links(cosines: np.ndarray, languages: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Which passages are versions of each other: mutual nearest across two languages, similar both ways.

    Args:
        cosines: the passages' cosines with each other.
        languages: each passage's language.
        z: ``cross_scores`` of the same passages.

    Returns:
        A symmetric boolean matrix, never true within one language.
    """
    other = languages[:, None] != languages[None, :]
    nearest = np.zeros(cosines.shape, dtype=bool)
    for lang in set(languages.tolist()):
        cols = np.flatnonzero(languages == lang)
        rows = np.flatnonzero(languages != lang)
        if len(rows):
            nearest[rows, cols[np.argmax(cosines[np.ix_(rows, cols)], axis=1)]] = True
    # Mutual: a passage can be the nearest of many in a language, but the version of only one of them.
    return nearest & nearest.T & other & (np.minimum(z, z.T) >= LINK_Z)


def lead(
    by_language: dict[str, list[Hit]],
    floor: float,
    vectors_of: Callable[[list[int]], np.ndarray],
    profiles: dict[str, LanguageProfile],
    first: int | None = None,
) -> list[Hit]:
    """The best-corroborated passage and its linked versions, to head the balanced results.

    Each passage of the pool (``POOL_PER_LANGUAGE`` per language) scores its calibrated score plus
    ``PARTNER_WEIGHT`` times the positive calibrated scores of its linked versions; the plain top hit leads instead
    when it is corroborated in ``FIRST_VERSIONS`` other languages (its own language's raw score is then the
    better judge than calibrated scores across languages).

    Args:
        by_language: each language's passages, best first (``per_language``).
        floor: the relevance floor: a lead below it would put an irrelevant passage first.
        vectors_of: returns the vectors of chunk ids.
        profiles: per-language profiles.
        first: the plain search's top hit: it heads the group when it belongs to it.

    Returns:
        The lead passage and its versions (best calibrated score first, at most ``LEAD_SIZE``), or [] when the
        best-scoring passage has no linked version (one language, nothing corroborated) or is not relevant: the
        balanced order then stands as it is.
    """
    pool = [h for hits in by_language.values() for h in hits[:POOL_PER_LANGUAGE] if np.isfinite(h.z)]
    if len({h.language for h in pool}) < 2:
        return []
    vectors = vectors_of([h.chunk_id for h in pool]).astype(np.float32)
    languages = np.array([h.language for h in pool])
    linked = links(vectors @ vectors.T, languages, cross_scores(vectors, languages, profiles))
    zs = np.array([h.z for h in pool])
    score = zs + PARTNER_WEIGHT * (linked * np.maximum(zs, 0.0)[None, :]).sum(axis=1)
    best = int(np.argmax(score))
    top = next((i for i, h in enumerate(pool) if h.chunk_id == first), None)
    if top is not None and linked[top].sum() >= FIRST_VERSIONS:
        best = top
    if zs[best] < floor or not linked[best].any():
        return []
    members = sorted([best, *np.flatnonzero(linked[best]).tolist()], key=lambda i: -zs[i])
    # Results read top-down from the plain top hit when it is one of the versions.
    members.sort(key=lambda i: pool[i].chunk_id != first)
    return [pool[i] for i in members[:LEAD_SIZE]]
