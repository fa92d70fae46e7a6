"""Cross-language lookup on the mixed XQuAD corpus: balanced vs plain search, and hybrid vs dense vs keyword."""

from __future__ import annotations

import json
import logging
import re
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.data import XQUAD_LANGS, Question, load_xquad
from bench.env import Context, write_result
from bench.xquad_systems import ProductSystem, write_corpus

logger = logging.getLogger(__name__)

NAME = "crosslang"
TOP = 12
#: Scripts with letter case: there a capitalised answer is a proper noun.
CASED = {"en", "de", "el", "es", "ro", "ru", "tr", "vi"}
SIZES = {"full": {"langs": XQUAD_LANGS, "paragraphs": 0, "balance_q": 40, "lookup_q": 30},
         "quick": {"langs": ("en", "de"), "paragraphs": 8, "balance_q": 2, "lookup_q": 2}}


def run(ctx: Context) -> dict[str, Any]:
    """Measure language balance and exact-name lookup through the product.

    Args:
        ctx: the run context.

    Returns:
        The result written to ``crosslang.json``.
    """
    from app.service import SearchService

    started = time.perf_counter()
    size = SIZES["quick" if ctx.quick else "full"]
    xquad = load_xquad(ctx.options.eval_dir, size["langs"], size["paragraphs"])
    home = ctx.options.work_dir / "crosslang-home"
    service = SearchService(ctx.settings(home), ctx.embedder)
    try:
        # Re-ingesting is cheap: documents already stored are skipped as duplicates.
        service.ingest(write_corpus(xquad, ctx.options.work_dir / "crosslang-corpus"), "xquad")
        product = ProductSystem(service)
        questions = {lang: qs[:: max(1, len(qs) // size["balance_q"])][: size["balance_q"]]
                     for lang, qs in xquad.questions.items()}
        balance = {mode: _balance(product, questions, kwargs) for mode, kwargs in
                   (("plain", {}), ("balanced", {"balanced": True}))}
        lookup_qs = _lookup_questions(ctx.options.eval_dir, xquad, size["lookup_q"])
        lookup = {mode: _lookup(product, lookup_qs, mode) for mode in ("dense", "keyword", "hybrid")}
    finally:
        service.close()
    result = {"config": {"languages": list(xquad.paragraphs), "top": TOP,
                         "balance_questions_per_language": size["balance_q"],
                         "lookup_questions": sum(len(v) for v in lookup_qs.values())},
              "balance": balance, "lookup": lookup}
    write_result(ctx, NAME, result, started)
    return result


def _balance(product: ProductSystem, questions: dict[str, list[Question]], kwargs: dict) -> dict[str, Any]:
    versions, r1, own, times = [], [], [], []
    for lang, qs in questions.items():
        t0 = time.perf_counter()
        responses = product.search([q.text for q in qs], None, kwargs, k=TOP)
        times.append((time.perf_counter() - t0) / max(len(qs), 1))
        for q, response in zip(qs, responses):
            hits = [product.docmap[r.document_id] for r in response.results]
            versions.append(len({hl for pid, hl in hits if pid == q.pid}))
            r1.append(bool(hits) and hits[0][0] == q.pid)
            own.append(np.mean([hl == lang for _, hl in hits[:10]]) if hits else 0.0)
    return {"gold_versions_in_top12": round(float(np.mean(versions)), 2), "r1_any_language": _pct(r1),
            "own_language_share_top10": _pct(own), "ms_per_query": round(1000 * float(np.mean(times)), 1),
            "queries": len(versions)}


def _lookup_questions(eval_dir: Path, xquad: Any, per_lang: int) -> dict[str, list[Question]]:
    """Questions whose answer is a number or (in cased scripts) a proper noun."""
    out = {}
    for lang, qs in xquad.questions.items():
        answers = _answers(eval_dir, lang)
        picked = [q for q in qs if _is_name_or_number(answers.get(q.qid, ""), lang)]
        out[lang] = picked[:per_lang]
    return out


def _answers(eval_dir: Path, lang: str) -> dict[str, str]:
    data = json.loads((eval_dir / "xquad" / f"xquad.{lang}.json").read_text(encoding="utf-8"))
    return {qa["id"]: qa["answers"][0]["text"] for art in data["data"] for p in art["paragraphs"] for qa in p["qas"]}


def _is_name_or_number(answer: str, lang: str) -> bool:
    if re.search(r"\d", answer):
        return True
    return lang in CASED and answer[:1].isupper()


def _lookup(product: ProductSystem, questions: dict[str, list[Question]], mode: str) -> dict[str, Any]:
    hits, firsts, per_lang = [], [], {}
    for lang, qs in questions.items():
        found = []
        for q in qs:
            if mode == "keyword":
                ids = [i for i, _ in product.service.store.keyword_search(q.text, 10, languages=[lang])]
                chunks = product.service.store.chunks(ids)
                docs = [chunks[i].document_id for i in ids if i in chunks]
            else:
                response = product.service.search(q.text, k=10, languages=[lang], hybrid=mode == "hybrid")
                docs = [r.document_id for r in response.results]
            pids = [product.docmap[d][0] for d in docs]
            found.append(q.pid in pids)
            firsts.append(bool(pids) and pids[0] == q.pid)
        per_lang[lang] = _pct(found)
        hits += found
    return {"r10": _pct(hits), "r1": _pct(firsts), "per_language_r10": per_lang, "queries": len(hits)}


def _pct(values: list) -> float:
    return round(100 * float(np.mean(values)), 1) if len(values) else float("nan")
