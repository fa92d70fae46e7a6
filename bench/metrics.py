"""Ranking metrics over deduplicated document rankings: Recall@1, Recall@10, MRR@10, own-language rate."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

#: A ranked hit: (paragraph id, true language of the document).
Doc = tuple[int, str]


@dataclass(frozen=True)
class Judged:
    """One query's outcome: the 1-based rank of the first gold document (None if missed), the top result's
    language and how many distinct documents the top k held."""

    rank: int | None
    top_lang: str | None
    n_docs: int = 10


def dedupe(docs: Iterable[tuple[int, Doc]]) -> list[Doc]:
    """Keep the first occurrence of each document in a ranked list of (document id, doc) pairs.

    A paragraph split into several chunks can appear more than once in a chunk ranking.

    Args:
        docs: (document id, (pid, language)) in rank order.

    Returns:
        Documents in rank order, each once.
    """
    seen: set[int] = set()
    out = []
    for doc_id, doc in docs:
        if doc_id not in seen:
            seen.add(doc_id)
            out.append(doc)
    return out


def judge(ranking: list[Doc], gold_pid: int, accept: Callable[[str], bool], k: int = 10) -> Judged:
    """Find the first gold document in the top k.

    Args:
        ranking: deduplicated documents in rank order.
        gold_pid: the paragraph holding the answer.
        accept: which language versions of the gold paragraph count.
        k: cut-off.

    Returns:
        The judged outcome.
    """
    rank = next((i + 1 for i, (pid, lang) in enumerate(ranking[:k]) if pid == gold_pid and accept(lang)), None)
    return Judged(rank, ranking[0][1] if ranking else None, len(ranking[:k]))


def summarize(judged: list[Judged], own_lang: str | None = None) -> dict[str, float]:
    """Recall@1, Recall@10, MRR@10 in percent, and how often the top result is in ``own_lang``.

    Args:
        judged: outcomes of the queries.
        own_lang: the query language, for the language-bias rate (None: not reported).

    Returns:
        ``{"r1", "r10", "mrr10", "docs_in_top10", "n"}`` plus ``"own_lang_top1"`` when ``own_lang`` is given.
    """
    n = len(judged)
    if not n:
        return {"n": 0}
    out = {"r1": _pct(sum(j.rank == 1 for j in judged), n),
           "r10": _pct(sum(j.rank is not None and j.rank <= 10 for j in judged), n),
           "mrr10": round(100 * sum(1 / j.rank for j in judged if j.rank and j.rank <= 10) / n, 2),
           "docs_in_top10": round(sum(j.n_docs for j in judged) / n, 2), "n": n}
    if own_lang is not None:
        out["own_lang_top1"] = _pct(sum(j.top_lang == own_lang for j in judged), n)
    return out


def average(per_lang: dict[str, dict[str, float]]) -> dict[str, float]:
    """Unweighted mean over languages of every metric (and the total query count).

    Args:
        per_lang: language → summary.

    Returns:
        The averaged summary.
    """
    rows = [row for row in per_lang.values() if row.get("n")]
    if not rows:
        return {"n": 0}
    keys = [key for key in rows[0] if key != "n"]
    out = {key: round(sum(row[key] for row in rows) / len(rows), 2) for key in keys}
    out["n"] = sum(row["n"] for row in rows)
    return out


def accuracy_at_1(similarity_argmax: Iterable[int]) -> float:
    """Percentage of rows whose nearest neighbour is the aligned row (Tatoeba): argmax[i] == i."""
    hits = [int(j) == i for i, j in enumerate(similarity_argmax)]
    return _pct(sum(hits), len(hits)) if hits else 0.0


def _pct(count: int, total: int) -> float:
    return round(100 * count / total, 2)
