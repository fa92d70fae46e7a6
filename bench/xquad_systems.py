"""XQuAD retrieval tasks and the two systems that run them: the product (SearchService) and the direct model."""

from __future__ import annotations

import inspect
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bench.data import Question, XQuAD
from bench.metrics import Doc, Judged, average, dedupe, judge, summarize

logger = logging.getLogger(__name__)

COLLECTION = "xquad"
SETTINGS = ("mono", "en2x", "x2en", "mixed", "mixed_foreign")
SETTING_LABELS = {"mono": "monolingual X→X", "en2x": "English→X", "x2en": "X→English",
                  "mixed": "mixed 12-language corpus", "mixed_foreign": "mixed corpus, other languages only"}
#: Queries per search_many call: the product embeds a call's queries in one batch.
QUERY_SLICE = 64


@dataclass(frozen=True)
class Task:
    """Questions in ``src`` searched with a language filter; ``judges`` say which gold versions count."""

    setting: str
    key: str
    src: str
    languages: tuple[str, ...] | None
    judges: dict[str, Callable[[str], bool]] = field(hash=False, compare=False)


@dataclass(frozen=True)
class Variant:
    """A product search mode: keyword arguments of ``SearchService.search`` and how much to run it on."""

    name: str
    kwargs: dict[str, Any] = field(hash=False, compare=False)
    settings: tuple[str, ...] = SETTINGS
    max_queries: int = 0


def tasks(setting: str, langs: tuple[str, ...]) -> list[Task]:
    """The tasks of one setting (one per language; English itself is skipped for en→X and X→en).

    Args:
        setting: one of ``SETTINGS``.
        langs: corpus languages.

    Returns:
        The tasks.
    """
    out = []
    for x in langs:
        if setting == "mono":
            out.append(Task(setting, x, x, (x,), {"gold": lambda lang, x=x: lang == x}))
        elif setting == "en2x" and x != "en":
            out.append(Task(setting, x, "en", (x,), {"gold": lambda lang, x=x: lang == x}))
        elif setting == "x2en" and x != "en":
            out.append(Task(setting, x, x, ("en",), {"gold": lambda lang: lang == "en"}))
        elif setting == "mixed":
            out.append(Task(setting, x, x, None, {"any": lambda lang: True, "gold_lang": lambda lang, x=x: lang == x,
                                                  "other_lang": lambda lang, x=x: lang != x}))
        elif setting == "mixed_foreign":
            others = tuple(lang for lang in langs if lang != x)
            out.append(Task(setting, x, x, others, {"any": lambda lang, x=x: lang != x}))
    return out


def subset(questions: list[Question], max_queries: int) -> list[Question]:
    """Evenly spaced questions (all when ``max_queries`` is 0 or large enough)."""
    if not max_queries or max_queries >= len(questions):
        return questions
    return [questions[i] for i in np.linspace(0, len(questions) - 1, max_queries).round().astype(int)]


Outcomes = dict[tuple[str, str, str], dict[str, Judged]]


def evaluate(rank: Callable[[Task, list[Question]], list[list[Doc]]], xquad: XQuAD, settings: tuple[str, ...],
             max_queries: int = 0) -> Outcomes:
    """Run every task of the settings and judge each question.

    Args:
        rank: returns one deduplicated ranking per question.
        xquad: the data.
        settings: which settings to run.
        max_queries: questions per task (0 = all).

    Returns:
        (setting, language key, judge) → question id → outcome.
    """
    outcomes: Outcomes = {}
    for setting in settings:
        for task in tasks(setting, tuple(xquad.paragraphs)):
            questions = subset(xquad.questions[task.src], max_queries)
            t0 = time.perf_counter()
            rankings = rank(task, questions)
            logger.info("%s %s: %d queries in %.1f s", setting, task.key, len(questions), time.perf_counter() - t0)
            for name, accept in task.judges.items():
                outcomes[(setting, task.key, name)] = {q.qid: judge(r, q.pid, accept)
                                                       for q, r in zip(questions, rankings)}
    return outcomes


def tabulate(outcomes: Outcomes) -> dict[str, Any]:
    """Summaries per language and averaged: setting → judge → {"per_lang", "avg"}.

    In the mixed setting the query language is the key, and the own-language rate of the top
    result (language bias) is reported too.
    """
    results: dict[str, Any] = {}
    for (setting, key, name), judged in outcomes.items():
        own = key if setting == "mixed" else None
        block = results.setdefault(setting, {}).setdefault(name, {"per_lang": {}})
        block["per_lang"][key] = summarize(list(judged.values()), own)
    for blocks in results.values():
        for block in blocks.values():
            block["avg"] = average(block["per_lang"])
    return results


def restrict(outcomes: Outcomes, like: Outcomes) -> Outcomes:
    """The outcomes of the same (task, question) pairs as ``like``: a baseline on a variant's subset."""
    return {key: {qid: outcomes[key][qid] for qid in judged} for key, judged in like.items() if key in outcomes}


def supported(kwargs: dict[str, Any], method: Callable) -> bool:
    """Does ``method`` accept every keyword in ``kwargs``?"""
    params = inspect.signature(method).parameters
    return all(name in params for name in kwargs)


class ProductSystem:
    """Searches an XQuAD collection through ``SearchService`` and maps results back to paragraphs.

    Args:
        service: a service whose collection holds one document per paragraph (JSONL rows).
    """

    def __init__(self, service: Any):
        self.service = service
        self.docs = {d.id: d for d in service.documents(COLLECTION, limit=10**7)}
        self.docmap: dict[int, Doc] = {i: (int(d.metadata["pid"]), d.metadata["lang"]) for i, d in self.docs.items()}

    def search(self, queries: list[str], languages: tuple[str, ...] | None, kwargs: dict[str, Any],
               k: int = 10) -> list[Any]:
        """SearchResponses for the queries (search_many in slices, or search one by one for new options)."""
        langs = list(languages) if languages is not None else None
        if supported(kwargs, self.service.search_many):
            out = []
            for start in range(0, len(queries), QUERY_SLICE):
                out += self.service.search_many(queries[start:start + QUERY_SLICE], k=k, languages=langs, **kwargs)
            return out
        return [self.service.search(q, k=k, languages=langs, **kwargs) for q in queries]

    def ranking(self, response: Any) -> list[Doc]:
        """The deduplicated (pid, language) ranking of one response."""
        return dedupe((r.document_id, self.docmap[r.document_id]) for r in response.results)

    def ranker(self, kwargs: dict[str, Any]) -> Callable[[Task, list[Question]], list[list[Doc]]]:
        """A ``rank`` function for ``evaluate`` with these search options."""

        def rank(task: Task, questions: list[Question]) -> list[list[Doc]]:
            responses = self.search([q.text for q in questions], task.languages, kwargs)
            return [self.ranking(r) for r in responses]

        return rank


def write_corpus(xquad: XQuAD, folder: Path) -> list[Path]:
    """One JSONL file per language, one row per paragraph with its pid and language as metadata."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for lang, texts in xquad.paragraphs.items():
        path = folder / f"xquad-{lang}.jsonl"
        rows = (json.dumps({"text": t, "pid": pid, "lang": lang}, ensure_ascii=False) for pid, t in enumerate(texts))
        path.write_text("\n".join(rows) + "\n", encoding="utf-8")
        paths.append(path)
    return paths


class DirectSystem:
    """The code a user would write by hand: ``encode_query``/``encode_document`` and a flat FAISS index.

    Args:
        model: a plain SentenceTransformer.
        xquad: the data (every paragraph and question is embedded once, up front).
        batch_size: encode batch size.
    """

    def __init__(self, model: Any, xquad: XQuAD, batch_size: int = 32):
        self.docs: dict[str, np.ndarray] = {}
        self.queries: dict[str, np.ndarray] = {}
        self.qrow: dict[str, dict[str, int]] = {}
        for lang, texts in xquad.paragraphs.items():
            self.docs[lang] = np.asarray(model.encode_document(texts, batch_size=batch_size), dtype=np.float32)
        for lang, questions in xquad.questions.items():
            texts = [q.text for q in questions]
            self.queries[lang] = np.asarray(model.encode_query(texts, batch_size=batch_size), dtype=np.float32)
            self.qrow[lang] = {q.qid: i for i, q in enumerate(questions)}
        self.prompts = dict(model.prompts)
        self._indexes: dict[tuple[str, ...], tuple[Any, list[Doc]]] = {}

    def _index(self, langs: tuple[str, ...]) -> tuple[Any, list[Doc]]:
        import faiss

        if langs not in self._indexes:
            index = faiss.IndexFlatIP(next(iter(self.docs.values())).shape[1])
            rows: list[Doc] = []
            for lang in langs:
                index.add(self.docs[lang])
                rows += [(pid, lang) for pid in range(len(self.docs[lang]))]
            self._indexes[langs] = (index, rows)
        return self._indexes[langs]

    def rank(self, task: Task, questions: list[Question], k: int = 10) -> list[list[Doc]]:
        """Rankings for ``evaluate`` (a paragraph is one vector, so no deduplication is needed)."""
        index, rows = self._index(task.languages or tuple(self.docs))
        vectors = self.queries[task.src][[self.qrow[task.src][q.qid] for q in questions]]
        _, found = index.search(vectors, k)
        return [[rows[j] for j in line if j >= 0] for line in found]
