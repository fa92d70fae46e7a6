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
    from bench.crosslang import summarise

    service = product.service
    index, profiles = service.indexer.vectors, service.retriever.profiles()
    paragraph = _paragraphs(product, profiles)
    ranked, times = [], []
    for lang, qs in questions.items():
        t0 = time.perf_counter()
        vectors = service.indexer.embedder.encode_queries([q.text for q in qs])
        found = [_ranking(retrieval.per_language(index, v, profiles, None), paragraph, top) for v in vectors]
        times.append((time.perf_counter() - t0) / max(len(qs), 1))
        ranked += [(lang, q, hits) for q, hits in zip(qs, found)]
    return summarise(ranked, times, top)


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
