"""What reordering could reach if the language versions of every passage were known.

Balanced search must guess which passages are versions of each other (``indexer.corroboration``). Here the
benchmark's own paragraph ids group them instead: the balanced searches of the user's query (each language's
best passages, calibrated), grouped by true paragraph, groups ranked by the mean of their three best calibrated
scores; the results are the best group's versions, then the best passage of each following group. The gap
between these figures and balanced search's is what better version detection could still win; the gap between
these and the targets is the embedder's.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from bench.data import Question
from bench.xquad_systems import ProductSystem
from indexer import retrieval

#: Calibrated scores a group's score averages (missing versions count as 0).
BEST_OF = 3


def measure(product: ProductSystem, questions: dict[str, list[Question]], top: int) -> dict[str, Any]:
    """R@1 and R@10 (any version) and versions of the gold paragraph in the top 5 and top ``top``.

    Args:
        product: the system over one corpus.
        questions: per language.
        top: results per question.

    Returns:
        The metrics, as ``bench.crosslang.measure`` names them (the time includes no SQL or result shaping).
    """
    from bench.crosslang import pct

    service = product.service
    index, profiles = service.indexer.vectors, service.retriever.profiles()
    paragraph = _paragraphs(product, profiles)
    r1, r10, in_top, top5, own, times = [], [], [], [], [], []
    for lang, qs in questions.items():
        t0 = time.perf_counter()
        vectors = service.indexer.embedder.encode_queries([q.text for q in qs])
        rankings = [_ranking(retrieval.per_language(index, v, profiles, None), paragraph, top) for v in vectors]
        times.append((time.perf_counter() - t0) / max(len(qs), 1))
        for q, ranked in zip(qs, rankings):
            r1.append(bool(ranked) and ranked[0][0] == q.pid)
            r10.append(any(pid == q.pid for pid, _ in ranked[:10]))
            in_top.append(sum(pid == q.pid for pid, _ in ranked[:top]))
            top5.append(sum(pid == q.pid for pid, _ in ranked[:5]))
            own.append(np.mean([hl == lang for _, hl in ranked[:10]]) if ranked else 0.0)
    return {
        "r1_any_language": pct(r1),
        "r10_any_language": pct(r10),
        "gold_versions_in_top12": round(float(np.mean(in_top)), 2),
        "gold_versions_in_top5": round(float(np.mean(top5)), 2),
        "own_language_share_top10": pct(own),
        "ms_per_query": round(1000 * float(np.mean(times)), 1),
        "queries": len(r1),
    }


def _paragraphs(product: ProductSystem, profiles: retrieval.Profiles) -> dict[int, int]:
    """Chunk id -> the paragraph id of its document."""
    ids = np.concatenate([p.ids for p in profiles.values()]).tolist()
    return {i: product.docmap[c.document_id][0] for i, c in product.service.store.chunks(ids).items()}


def _ranking(by_language: dict[str, list[retrieval.Hit]], paragraph: dict[int, int], top: int
             ) -> list[tuple[int, str]]:  # fmt: skip
    """(paragraph, language) results: the best group's versions, then the best passage of each next group."""
    groups: dict[int, dict[str, float]] = {}
    for lang, hits in by_language.items():
        for hit in hits:
            versions = groups.setdefault(paragraph[hit.chunk_id], {})
            versions[lang] = max(versions.get(lang, -np.inf), hit.z)
    order = sorted(groups, key=lambda pid: -sum(sorted(groups[pid].values())[-BEST_OF:]) / BEST_OF)
    if not order:
        return []
    lead = [(order[0], lang) for lang in sorted(groups[order[0]], key=lambda lang: -groups[order[0]][lang])]
    rest = [(pid, max(groups[pid], key=groups[pid].get)) for pid in order[1:]]
    return (lead + rest)[:top]
