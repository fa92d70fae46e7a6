"""Readers for the evaluation data in ../shared/eval (read at run time, never copied into the repository)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

XQUAD_LANGS = ("en", "ar", "de", "el", "es", "hi", "ro", "ru", "th", "tr", "vi", "zh")

#: The 15 XNLI languages (ISO 639-1) and ten more, mapped to the Tatoeba (ISO 639-3) file names.
#: Tatoeba has no English-English pair, so "en" is covered as the other side of every pair.
TATOEBA_XNLI = {"ar": "ara", "bg": "bul", "de": "deu", "el": "ell", "es": "spa", "fr": "fra", "hi": "hin",
                "ru": "rus", "sw": "swh", "th": "tha", "tr": "tur", "ur": "urd", "vi": "vie", "zh": "cmn"}
TATOEBA_MORE = {"ja": "jpn", "ko": "kor", "it": "ita", "pt": "por", "nl": "nld", "pl": "pol", "uk": "ukr",
                "he": "heb", "id": "ind", "fa": "pes"}


@dataclass(frozen=True)
class Question:
    """One XQuAD question; ``pid`` is the index of its paragraph, the same in every language."""

    qid: str
    pid: int
    lang: str
    text: str


@dataclass
class XQuAD:
    """Parallel XQuAD paragraphs and questions.

    Attributes:
        paragraphs: language → paragraph texts, index = pid.
        questions: language → questions, in file order.
        titles: pid → the article title (English file).
    """

    paragraphs: dict[str, list[str]]
    questions: dict[str, list[Question]]
    titles: list[str]


def load_xquad(eval_dir: Path, langs: tuple[str, ...] = XQUAD_LANGS, max_paragraphs: int = 0,
               questions_per_paragraph: int = 0) -> XQuAD:
    """Read XQuAD (SQuAD v1.1 JSON) and check that ids are parallel across languages.

    Args:
        eval_dir: folder holding ``xquad/``.
        langs: languages to read.
        max_paragraphs: keep the first N paragraphs (0 = all 240).
        questions_per_paragraph: keep the first N questions of each paragraph (0 = all).

    Returns:
        The parallel data.

    Raises:
        ValueError: if the files are not parallel (question ids differ between languages).
    """
    paragraphs, questions, titles, reference = {}, {}, [], None
    for lang in langs:
        data = json.loads((eval_dir / "xquad" / f"xquad.{lang}.json").read_text(encoding="utf-8"))
        texts, qs, ids, names = [], [], [], []
        for article in data["data"]:
            for para in article["paragraphs"]:
                pid = len(texts)
                texts.append(para["context"])
                names.append(article["title"])
                for n, qa in enumerate(para["qas"]):
                    ids.append(qa["id"])
                    if not questions_per_paragraph or n < questions_per_paragraph:
                        qs.append(Question(qa["id"], pid, lang, qa["question"].strip()))
        if reference is not None and ids != reference:
            raise ValueError(f"xquad.{lang}.json: question ids are not parallel to xquad.{langs[0]}.json")
        reference = ids
        titles = titles or names
        keep = max_paragraphs or len(texts)
        paragraphs[lang] = texts[:keep]
        questions[lang] = [q for q in qs if q.pid < keep]
    return XQuAD(paragraphs, questions, titles[: max_paragraphs or len(titles)])


def articles(xquad: XQuAD, n_docs: int) -> list[tuple[str, str, str]]:
    """Multi-paragraph documents for ingest: the paragraphs of one XQuAD article, languages rotating.

    Document i is article ``i % n_articles`` in language ``langs[i % n_langs]``, so consecutive
    documents differ in both topic and language.

    Args:
        xquad: the loaded data (all paragraphs of each article must be present).
        n_docs: number of documents.

    Returns:
        (file stem, language, text) triples; paragraphs are separated by a blank line.
    """
    groups: dict[str, list[int]] = {}
    for pid, title in enumerate(xquad.titles):
        groups.setdefault(title, []).append(pid)
    order = list(groups)
    langs = list(xquad.paragraphs)
    out = []
    for i in range(n_docs):
        title, lang = order[i % len(order)], langs[i % len(langs)]
        text = "\n\n".join(xquad.paragraphs[lang][pid] for pid in groups[title])
        out.append((f"{i:04d}-{lang}-{title[:40]}", lang, text))
    return out


def load_tatoeba(eval_dir: Path, code3: str, limit: int = 0) -> tuple[list[str], list[str]]:
    """One Tatoeba pair: line i of the xx file translates line i of the English file.

    Args:
        eval_dir: folder holding ``tatoeba/``.
        code3: the ISO 639-3 code of the non-English side.
        limit: keep the first N pairs (0 = all).

    Returns:
        (xx sentences, English sentences).

    Raises:
        ValueError: if the two sides differ in length.
    """
    base = eval_dir / "tatoeba" / f"tatoeba.{code3}-eng"
    xx = base.with_name(base.name + f".{code3}").read_text(encoding="utf-8").splitlines()
    en = base.with_name(base.name + ".eng").read_text(encoding="utf-8").splitlines()
    if len(xx) != len(en):
        raise ValueError(f"{base}: {len(xx)} lines against {len(en)} English lines")
    keep = limit or len(xx)
    return xx[:keep], en[:keep]
