"""Cross-language benchmark parts: name/number lookup, hybrid across languages, short-query language."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from bench.data import Question, XQuAD
from bench.xquad_systems import ProductSystem

#: Scripts with letter case: there a capitalised answer is a proper noun.
CASED = {"en", "de", "el", "es", "ro", "ru", "tr", "vi"}
#: Languages written without spaces: a short query is its first characters, not words.
UNSPACED = {"zh", "th", "ja"}
SHORT_WORDS, SHORT_CHARS = 2, 4


def name_questions(eval_dir: Path, xquad: XQuAD, per_lang: int) -> dict[str, list[Question]]:
    """Questions whose answer is a number or (in cased scripts) a proper noun."""
    out = {}
    for lang, qs in xquad.questions.items():
        answers = _answers(eval_dir, lang)
        out[lang] = [q for q in qs if _is_name_or_number(answers.get(q.qid, ""), lang)][:per_lang]
    return out


def _answers(eval_dir: Path, lang: str) -> dict[str, str]:
    data = json.loads((eval_dir / "xquad" / f"xquad.{lang}.json").read_text(encoding="utf-8"))
    return {qa["id"]: qa["answers"][0]["text"] for art in data["data"] for p in art["paragraphs"] for qa in p["qas"]}


def _is_name_or_number(answer: str, lang: str) -> bool:
    if re.search(r"\d", answer):
        return True
    return lang in CASED and answer[:1].isupper()


def lookup(product: ProductSystem, questions: dict[str, list[Question]], mode: str) -> dict[str, Any]:
    """Name/number questions searched in their own language: dense, keyword (BM25 alone) or hybrid."""
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


def cross_lingual(product: ProductSystem, xquad: XQuAD, per_lang: int, offset: int) -> dict[str, Any]:
    """English→X and X→English with a language filter: dense against hybrid, R@1 and R@10."""
    from bench.crosslang import spaced

    questions = spaced(xquad.questions, per_lang, offset)
    out: dict[str, Any] = {}
    for mode, kwargs in (("dense", {}), ("hybrid", {"hybrid": True})):
        for setting in ("en2x", "x2en"):
            r1, r10 = [], []
            for x in xquad.paragraphs:
                if x == "en":
                    continue
                src, target = ("en", x) if setting == "en2x" else (x, "en")
                qs = questions[src]
                for q, response in zip(qs, product.search([q.text for q in qs], (target,), kwargs, k=10)):
                    pids = [pid for pid, _ in product.ranking(response)]
                    r1.append(bool(pids) and pids[0] == q.pid)
                    r10.append(q.pid in pids[:10])
            out.setdefault(mode, {})[setting] = {"r1": _pct(r1), "r10": _pct(r10), "queries": len(r1)}
    return out


def short_query(text: str, lang: str) -> str:
    """The first two words of a question (the first four characters in scripts without spaces)."""
    return text[:SHORT_CHARS] if lang in UNSPACED else " ".join(text.split()[:SHORT_WORDS])


def short_query_language(product: ProductSystem, xquad: XQuAD, per_lang: int, offset: int) -> dict[str, Any]:
    """How often the language of a two-word query is right, wrong or left unknown: detector alone vs product."""
    from bench.crosslang import spaced
    from indexer.language import detect_language

    tallies = {"detector": [], "product": []}
    for lang, qs in spaced(xquad.questions, per_lang, offset).items():
        texts = [short_query(q.text, lang) for q in qs]
        for text, response in zip(texts, product.search(texts, None, {}, k=1)):
            tallies["detector"].append(_verdict(detect_language(text), lang))
            tallies["product"].append(_verdict(response.query_language, lang))
    return {
        name: {v: _pct([x == v for x in found]) for v in ("right", "wrong", "unknown")} | {"queries": len(found)}
        for name, found in tallies.items()
    }


def _verdict(found: str | None, lang: str) -> str:
    return "unknown" if found is None else "right" if found == lang else "wrong"


def _pct(values: list) -> float:
    return round(100 * sum(map(float, values)) / len(values), 1) if values else float("nan")
