"""Retrieval strategies over the vector index: plain, language-balanced, hybrid (dense + keyword).

Raw cosines are not comparable across languages (a query scores passages in its own language higher), so
relevance is judged on a calibrated score: the z-score of a passage's cosine against the distribution of its
language's cosines for the same query. One notion of relevance serves the balanced order, the feedback and the
language facets in every mode.

The balanced order opens with the best-corroborated passage and its versions in other languages
(``corroboration.lead``), then interleaves every language's relevant passages, found with the fed-back query
and, every ``UNMOVED_EVERY``-th slot, with the query as typed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from indexer import corroboration

#: Reciprocal rank fusion constant (the usual 60).
RRF_K = 60
#: Most top hits the query moves towards when searching other languages (relevance feedback).
FEEDBACK_HITS = 3
#: How far (in calibrated score) below the best hit another hit may be and still join the feedback.
FEEDBACK_MARGIN = 1.0
#: Weight of the feedback hits' vectors added to the query, at full confidence.
FEEDBACK_WEIGHT = 1.0
#: Confidence in the feedback grows from 0 at this calibrated score of the best hit ...
FEEDBACK_Z0 = 2.0
#: ... to full over this many points above it: a best hit that barely stands out moves the query little.
FEEDBACK_SPAN = 2.0
#: Calibrated score (of the fed-back query) from which a passage counts as relevant. Chosen with FIRST_MARGIN on
#: the calibration seed of bench/crosslang (3.5 to 5.5 tried; 4.0 with 1.5 keeps the full corpus's R@1 at plain's).
RELEVANT_Z = 4.0
#: Below this many searchable passages the z-scores are too noisy for a fixed floor ...
SMALL_COLLECTION = 200
#: ... and a passage counts as relevant when it is within this margin of the best calibrated score.
SMALL_MARGIN = 1.0
#: Pseudo-count of the pooled profile in each language's profile: few passages, mostly pooled statistics.
PRIOR_CHUNKS = 20
#: A keyword hit votes in hybrid search only when it holds this share of the query's meaningful words (0.5 and 0.7
#: tried on the calibration seed: 0.7 keeps hybrid within a point of dense where the answer is in other languages) ...
KEYWORD_MIN_SHARE = 0.7
#: ... and its vote weighs this much times that share (a dense vote weighs 1).
KEYWORD_WEIGHT = 1.0
#: The plain search's top hit stays first in balanced results when its calibrated score is this close to the best.
FIRST_MARGIN = 1.5
#: After the lead, every this-many-th balanced result comes from the user's own query instead of the fed-back one
#: (2 to 4 tried on the calibration seeds and questions of bench/crosslang: 3 keeps most of the lead's versions
#: and gives the right passage a second chance when the top hits pulled the feedback the wrong way).
UNMOVED_EVERY = 3
#: A short query's language is the nearest language centroid's when it leads the next by this cosine margin.
LANGUAGE_MARGIN = 0.02
#: Passages looked at per language (balanced) or in all (facets).
PER_LANGUAGE = 50
NEAREST = 200


class Searchable(Protocol):
    """What the strategies need of an index: a ``VectorIndex``, or the ``VectorCache`` around one."""

    def search(
        self, queries: np.ndarray, k: int, allowed: np.ndarray | None = None, quick: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
        """Scores and ids of each query's ``k`` nearest vectors among ``allowed`` (None = all)."""

    def count(self) -> int:
        """Vectors held."""


@dataclass
class LanguageProfile:
    """How a language's chunks spread in embedding space: mean vector and covariance.

    For a query q, the scores of all chunks of the language have mean ``q·mean`` and variance
    ``qᵀ·cov·q``: a z-score against that distribution makes scores comparable across languages.
    """

    ids: np.ndarray
    mean: np.ndarray
    cov: np.ndarray
    #: How many chunks the language had when mean and cov were estimated (ids may have grown since).
    profiled: int = 0
    #: A float32 copy of cov (half the memory read per query), made on first use.
    _cov32: np.ndarray | None = field(default=None, init=False, repr=False, compare=False)
    #: The last query's (bytes, mean, std): a search asks again for the same query, language by language.
    _last: tuple[bytes, float, float] | None = field(default=None, init=False, repr=False, compare=False)

    def cov32(self) -> np.ndarray:
        """The covariance as float32, for products with float32 query vectors."""
        if self._cov32 is None:
            self._cov32 = self.cov.astype(np.float32)
        return self._cov32

    def spread(self, query: np.ndarray) -> tuple[float, float]:
        """Mean and standard deviation of this language's scores for ``query``."""
        key, last = query.tobytes(), self._last
        if last is None or last[0] != key:
            variance = float(query @ self.cov32() @ query)
            last = key, float(query @ self.mean), float(np.sqrt(max(variance, 1e-12)))
            self._last = last  # one assignment: a search in another thread sees the old entry or this one
        return last[1], last[2]

    def calibrate(self, query: np.ndarray, scores: np.ndarray) -> np.ndarray:
        """z-scores of ``scores`` against this language's score distribution for ``query``."""
        mean, std = self.spread(query)
        return (scores - mean) / std


class Profiles(dict[str, LanguageProfile]):
    """Language profiles by code, with a table of each chunk's language, made on first use.

    A search looks up the languages of hundreds of hits: one gather, not a binary search per language.
    """

    _table: np.ndarray | None = None

    def codes(self, ids: np.ndarray) -> np.ndarray:
        """Each chunk's language as its position in this dict's order, -1 for a chunk no profile holds."""
        table = self._table
        if table is None:
            top = max((int(p.ids[-1]) for p in self.values() if len(p.ids)), default=-1)
            table = np.full(top + 1, -1, np.int16)
            for n, profile in enumerate(self.values()):
                table[profile.ids] = n
            self._table = table
        ids = np.asarray(ids, dtype=np.int64)
        out = np.full(len(ids), -1, np.int16)
        inside = (ids >= 0) & (ids < len(table))
        out[inside] = table[ids[inside]]
        return out


@dataclass(frozen=True)
class Hit:
    """A passage found for a query: raw cosine and calibrated score."""

    chunk_id: int
    score: float
    z: float
    language: str


def build_profiles(
    language_ids: dict[str, np.ndarray],
    vectors_of: Callable[[np.ndarray], np.ndarray],
    sample: int = 4000,
    seed: int = 0,
) -> Profiles:
    """Profile each language from (a sample of) its chunk vectors, shrunk towards the pooled profile.

    A language with few chunks says little about its own spread: its profile leans on the statistics of all
    languages together, with ``PRIOR_CHUNKS`` pseudo-chunks' weight.

    Args:
        language_ids: chunk ids per language.
        vectors_of: returns the float32 vectors of some chunk ids.
        sample: most chunks read per language.
        seed: sampling seed.

    Returns:
        A profile per language.
    """
    rng = np.random.default_rng(seed)
    vecs = {}
    for lang, ids in language_ids.items():
        picked = ids if len(ids) <= sample else rng.choice(ids, sample, replace=False)
        vecs[lang] = vectors_of(picked).astype(np.float64)
    if not vecs:
        return Profiles()
    pooled = np.concatenate(list(vecs.values()))
    dim = pooled.shape[1]
    pool_mean = pooled.mean(axis=0)
    covs = {lang: np.cov(v, rowvar=False) if len(v) > 1 else np.zeros((dim, dim)) for lang, v in vecs.items()}
    dof = sum(len(v) - 1 for v in vecs.values())
    # The spread within a language, pooled (the offsets between languages are what calibration removes);
    # with one chunk per language, the spread of all, and with one chunk in all an isotropic stand-in.
    if dof >= 2:
        pool_cov = sum((len(vecs[lang]) - 1) * c for lang, c in covs.items()) / dof
    else:
        pool_cov = np.cov(pooled, rowvar=False) if len(pooled) > 1 else np.eye(dim) / dim
    out = Profiles()
    for lang, v in vecs.items():
        n, cov = len(v), covs[lang]
        mean = (n * v.mean(axis=0) + PRIOR_CHUNKS * pool_mean) / (n + PRIOR_CHUNKS)
        cov = (n * cov + PRIOR_CHUNKS * pool_cov) / (n + PRIOR_CHUNKS)
        out[lang] = LanguageProfile(language_ids[lang], mean, cov + np.eye(dim) * 1e-6, len(language_ids[lang]))
    return out


def embedding_language(query: np.ndarray, profiles: Profiles) -> str | None:
    """The language whose passages' centroid the query vector leans towards, if it clearly does.

    Each language's direction is its mean vector less the mean of all languages' means (what the languages
    share is topic, not language).

    Args:
        query: the normalised query vector.
        profiles: per-language profiles.

    Returns:
        A language code, or None with fewer than two languages or no clear lead (``LANGUAGE_MARGIN``).
    """
    langs = [lang for lang in profiles if lang != "unknown"]
    if len(langs) < 2:
        return None
    means = np.stack([profiles[lang].mean for lang in langs])
    directions = means - means.mean(axis=0)
    directions /= np.maximum(np.linalg.norm(directions, axis=1, keepdims=True), 1e-12)
    sims = directions @ query
    first, second = np.argsort(-sims)[:2]
    return langs[first] if sims[first] - sims[second] >= LANGUAGE_MARGIN else None


def nearest(
    index: Searchable,
    query: np.ndarray,
    profiles: Profiles,
    allowed: np.ndarray | None,
    n: int = NEAREST,
) -> list[Hit]:
    """The query's ``n`` nearest passages in any language, with calibrated scores, best raw score first."""
    scores, found = index.search(query[None, :], n, allowed)
    keep = found[0] >= 0
    ids, raw = found[0][keep], scores[0][keep]
    codes = profiles.codes(ids)
    z = np.full(len(ids), -np.inf)
    for code, profile in enumerate(profiles.values()):
        mask = codes == code
        if mask.any():
            z[mask] = profile.calibrate(query, raw[mask])
    langs = np.array([*profiles, "unknown"], dtype=object)[codes]  # code -1 picks "unknown"
    return [Hit(*hit) for hit in zip(ids.tolist(), raw.tolist(), z.tolist(), langs.tolist())]


def per_language(
    index: Searchable,
    query: np.ndarray,
    profiles: Profiles,
    allowed: np.ndarray | None,
    n: int = PER_LANGUAGE,
) -> dict[str, list[Hit]]:
    """The ``n`` best passages of each language, with calibrated scores, best first."""
    out = {}
    for lang, profile in profiles.items():
        ids = profile.ids if allowed is None else np.intersect1d(profile.ids, allowed, assume_unique=True)
        if not len(ids):
            continue
        scores, found = index.search(query[None, :], n, ids, quick=True)
        keep = found[0] >= 0
        raw = scores[0][keep]
        z = profile.calibrate(query, raw)
        out[lang] = [Hit(i, s, zz, lang) for i, s, zz in zip(found[0][keep].tolist(), raw.tolist(), z.tolist())]
    return out


def feedback_query(query: np.ndarray, hits: list[Hit], vectors_of: Callable[[list[int]], np.ndarray]) -> np.ndarray:
    """The query moved towards its best hits by calibrated score, as far as their lead justifies.

    Hits within ``FEEDBACK_MARGIN`` of the best (at most ``FEEDBACK_HITS``) are averaged with weights
    ``exp(z - z_best)``; the move grows with how far the best hit stands out (``FEEDBACK_Z0``, ``FEEDBACK_SPAN``),
    so a best hit that is no better than chance does not drag the other languages after it.

    Args:
        query: the normalised query vector.
        hits: candidates with calibrated scores (any order).
        vectors_of: returns the vectors of chunk ids.

    Returns:
        The normalised moved query (the query itself when nothing stands out).
    """
    ranked = sorted((h for h in hits if np.isfinite(h.z)), key=lambda h: -h.z)
    if not ranked:
        return query
    best = ranked[0].z
    confidence = float(np.clip((best - FEEDBACK_Z0) / FEEDBACK_SPAN, 0.0, 1.0))
    seeds = [h for h in ranked[:FEEDBACK_HITS] if h.z >= best - FEEDBACK_MARGIN]
    if confidence <= 0 or not seeds:
        return query
    weights = np.exp(np.array([h.z - best for h in seeds]))
    centre = (weights[:, None] * vectors_of([h.chunk_id for h in seeds])).sum(axis=0) / weights.sum()
    moved = query + FEEDBACK_WEIGHT * confidence * centre
    return (moved / np.linalg.norm(moved)).astype(np.float32)


def relevance_floor(best_z: float, searchable: int) -> float:
    """The calibrated score from which a passage counts as relevant.

    Args:
        best_z: the best calibrated score found.
        searchable: how many passages the search could return.

    Returns:
        ``RELEVANT_Z``; in a small collection at most ``SMALL_MARGIN`` below the best score.
    """
    if searchable < SMALL_COLLECTION:
        return min(RELEVANT_Z, best_z - SMALL_MARGIN)
    return RELEVANT_Z


def count_relevant(hits: list[Hit], floor: float) -> dict[str, int]:
    """Relevant passages per language (every language of ``hits`` is present, with 0 where none passes)."""
    out: dict[str, int] = {}
    for hit in hits:
        out[hit.language] = out.get(hit.language, 0) + int(hit.z >= floor)
    return out


def balanced(
    by_language: dict[str, list[Hit]],
    floor: float,
    k: int,
    first: int | None = None,
    lead: list[Hit] | None = None,
    unmoved: list[Hit] | None = None,
) -> list[Hit]:
    """Language-balanced order: relevant passages of every language interleaved, then the rest.

    Round r holds every language's r-th best passage, ordered by calibrated score; the passages above ``floor``
    come first, so a language without a relevant passage takes no top slot.

    Args:
        by_language: each language's passages, best first (``per_language``).
        floor: the relevance floor (``relevance_floor``).
        k: results wanted.
        first: the plain search's top hit: it stays first when relevant and within ``FIRST_MARGIN`` of the best.
        lead: passages that head the order, as given (``corroboration.lead``); the rest follow interleaved.
        unmoved: when ``by_language`` was searched with the fed-back query, the user's own query's hits (any
            language, e.g. ``nearest``): after the lead, every ``UNMOVED_EVERY``-th result is the next of their
            balanced order (unless that puts an irrelevant passage before a relevant one), so a feedback pulled
            towards a wrong passage does not decide the whole list.

    Returns:
        The ranked passages.
    """
    out = _interleaved(by_language, floor, first)
    if lead:
        heads = {h.chunk_id for h in lead}
        out = list(lead) + [h for h in out if h.chunk_id not in heads]
    if unmoved:
        own: dict[str, list[Hit]] = {}
        for hit in unmoved:
            own.setdefault(hit.language, []).append(hit)
        out = _every(out, _interleaved(own, floor, first), len(lead or []), k, floor)
    return out[:k]


def _interleaved(by_language: dict[str, list[Hit]], floor: float, first: int | None) -> list[Hit]:
    """The languages' passages round by round, relevant ones first, the plain top hit kept first (``balanced``)."""
    ordered = sorted(
        ((h.z < floor, r, -h.z, h.chunk_id), h) for hits in by_language.values() for r, h in enumerate(hits)
    )
    out, seen = [], set()
    for _, hit in ordered:
        if hit.chunk_id not in seen:
            seen.add(hit.chunk_id)
            out.append(hit)
    top = next((n for n, h in enumerate(out) if h.chunk_id == first), None)
    if top and out[top].z >= max(floor, out[0].z - FIRST_MARGIN):
        out.insert(0, out.pop(top))
    return out


def _every(main: list[Hit], other: list[Hit], start: int, k: int, floor: float) -> list[Hit]:
    """``main`` with every ``UNMOVED_EVERY``-th slot after its first ``start`` taken by ``other``'s next unseen.

    A slot goes to ``other`` only when that does not put a passage below ``floor`` ahead of a relevant one.
    """
    out, seen = main[:start], {h.chunk_id for h in main[:start]}
    lists, at = (main, other), [start, 0]

    def peek(n: int) -> Hit | None:
        while at[n] < len(lists[n]) and lists[n][at[n]].chunk_id in seen:
            at[n] += 1
        return lists[n][at[n]] if at[n] < len(lists[n]) else None

    while len(out) < k:
        moved, own = peek(0), peek(1)
        own_slot = (len(out) - start + 1) % UNMOVED_EVERY == 0
        if moved is None or (own is not None and own_slot and not own.z < floor <= moved.z):
            hit = own
        else:
            hit = moved
        if hit is None:
            break
        seen.add(hit.chunk_id)
        out.append(hit)
    return out


def rrf(*rankings: list[int], k: int, weights: list[dict[int, float] | None] | None = None) -> list[tuple[int, float]]:
    """Reciprocal rank fusion of several rankings of chunk ids, optionally weighting each ranking's entries.

    Args:
        *rankings: lists of chunk ids, best first.
        k: results wanted.
        weights: per ranking, chunk id -> weight of its vote (None: every vote weighs 1); ids weighted 0 are
            dropped from that ranking before ranks are counted.

    Returns:
        (chunk id, fused score) pairs, best first.
    """
    fused: dict[int, float] = {}
    for n, ranking in enumerate(rankings):
        weight = (weights or [None] * len(rankings))[n]
        kept = ranking if weight is None else [i for i in ranking if weight.get(i, 0.0) > 0]
        for rank, chunk_id in enumerate(kept):
            vote = 1.0 if weight is None else weight[chunk_id]
            fused[chunk_id] = fused.get(chunk_id, 0.0) + vote / (RRF_K + rank + 1)
    return sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))[:k]


def dense(
    index: Searchable,
    query: np.ndarray,
    profiles: Profiles,
    allowed: np.ndarray | None,
    k: int,
    vectors_of: Callable[[list[int]], np.ndarray],
    balance: bool,
) -> tuple[list[tuple[int, float]], dict[str, int]]:
    """A dense search, plain or language-balanced, with the language facets of the same relevance floor.

    Args:
        index: the vector index.
        query: the normalised query vector.
        profiles: per-language profiles (``build_profiles``).
        allowed: ids permitted by the user's filters (None = all).
        k: results wanted.
        vectors_of: returns the vectors of chunk ids (for the feedback).
        balance: interleave the languages' relevant passages instead of ranking by raw score.

    Returns:
        ([(chunk id, raw score)], relevant passages per language).
    """
    found = nearest(index, query, profiles, allowed, max(NEAREST, k))
    if not found:
        return [], {}
    moved = feedback_query(query, found, vectors_of)
    around = found if moved is query else nearest(index, moved, profiles, allowed)
    searchable = len(allowed) if allowed is not None else index.count()
    floor = relevance_floor(max(h.z for h in around), searchable)
    facets = count_relevant(around, floor)
    if not balance:
        return [(h.chunk_id, h.score) for h in found[:k]], facets
    by_language = per_language(index, moved, profiles, allowed, max(k, PER_LANGUAGE))
    lead = corroboration.lead(by_language, floor, vectors_of, profiles, found[0].chunk_id)
    ranked = balanced(by_language, floor, k, found[0].chunk_id, lead, None if moved is query else found)
    return [(h.chunk_id, h.score) for h in ranked], facets
