"""NLI reranking: give every search result a stance on the query and reorder by vector score plus NLI decisiveness."""

from __future__ import annotations

import logging
from dataclasses import replace

import numpy as np

from app.claims import is_claim
from app.results import SearchResult
from indexer.nli import LABELS, NliModel

logger = logging.getLogger(__name__)

#: Stance shown for each NLI label (premise = the passage, hypothesis = the query).
STANCES = {"entailment": "supports", "neutral": "neutral", "contradiction": "contradicts"}
#: Stance shown when the model's calibrated top probability is below its badge threshold.
UNCLEAR = "unclear"
#: Weight of p(entail) + p(contradict) added to the vector score of a claim's candidates; chosen with
#: ``python -m bench.rerank_xquad`` (BENCHMARKS.md, NLI section).
DEFAULT_WEIGHT = 0.1
#: Hypothesis template; None sends the query as typed: the stance is then about the user's claim itself.
DEFAULT_TEMPLATE: str | None = None
#: A template for keyword queries, compared in the rerank benchmark.
KEYWORD_TEMPLATE = "This text is about {query}."


def stance_of(probs: np.ndarray, threshold: float) -> str:
    """The stance shown for one result: the top label, or "unclear" when its probability is below ``threshold``.

    Args:
        probs: calibrated probabilities in LABELS order, shape (3,).
        threshold: the model's badge threshold.

    Returns:
        "supports", "neutral", "contradicts" or "unclear".
    """
    top = int(np.argmax(probs))
    return STANCES[LABELS[top]] if float(probs[top]) >= threshold else UNCLEAR


def hypothesis(query: str, template: str | None) -> str:
    """The NLI hypothesis for a query.

    Args:
        query: the user's query or claim.
        template: e.g. ``"This text is about {query}."``; None uses the query as it is.

    Returns:
        The hypothesis text.

    Raises:
        ValueError: if the template has no ``{query}`` field.
    """
    if template is None:
        return query
    if "{query}" not in template:
        raise ValueError(f"A hypothesis template needs '{{query}}', e.g. {KEYWORD_TEMPLATE!r}; got {template!r}")
    return template.replace("{query}", query)


def combine(scores: np.ndarray, probs: np.ndarray, weight: float = DEFAULT_WEIGHT) -> np.ndarray:
    """Rerank score: the vector score plus ``weight`` times the chance that the passage decides the claim.

    A contradicting passage is as relevant to an analyst as a supporting one, so both count; a neutral
    passage keeps its vector score and is never dropped.

    Args:
        scores: vector scores, shape (n,).
        probs: NLI probabilities in LABELS order, shape (n, 3).
        weight: how much the NLI decision counts.

    Returns:
        Rerank scores, shape (n,).
    """
    return np.asarray(scores, dtype=np.float64) + weight * (probs[:, 0] + probs[:, 2])


def rerank(
    results: list[SearchResult],
    query: str,
    nli: NliModel,
    template: str | None = DEFAULT_TEMPLATE,
    weight: float = DEFAULT_WEIGHT,
    batch_size: int = 16,
    reorder: bool | None = None,
) -> list[SearchResult]:
    """Score each result against the query with NLI, set its stance and probabilities, and reorder claims.

    Every candidate is kept; ranks are renumbered from 1 in the new order (ties keep the vector order).

    Args:
        results: the vector search results (any order; ``score`` is the vector score).
        query: the user's query or claim (the NLI hypothesis; each passage is a premise).
        nli: the NLI model.
        template: hypothesis template with ``{query}``, or None.
        weight: weight of p(entail) + p(contradict) in the rerank score.
        batch_size: pairs per NLI forward pass.
        reorder: reorder by the rerank score; None decides by the query: only claims are reordered, questions and
            keywords keep the vector order (:func:`app.claims.is_claim`).

    Returns:
        New SearchResult objects with ``stance`` (possibly "unclear"), ``p_entail``, ``p_neutral``,
        ``p_contradict`` and ``rerank_score`` set, best first.
    """
    if not results:
        return []
    claim = hypothesis(query, template)
    probs = nli.predict([r.text for r in results], [claim] * len(results), batch_size=batch_size)
    final = combine(np.array([r.score for r in results]), probs, weight)
    if reorder is None:
        reorder = is_claim(query)
    # Stable sort on the negated score: equal scores keep the order the vector search gave.
    key = (lambda i: (-final[i], results[i].rank)) if reorder else (lambda i: results[i].rank)
    out = []
    for new_rank, i in enumerate(sorted(range(len(results)), key=key), start=1):
        p = probs[i]
        out.append(
            replace(
                results[i],
                rank=new_rank,
                stance=stance_of(p, nli.badge_threshold),
                p_entail=float(p[0]),
                p_neutral=float(p[1]),
                p_contradict=float(p[2]),
                rerank_score=float(final[i]),
            )
        )
    return out
