"""Snippet highlighting: the passage words that carry a query's meaning (content words, names, numbers)."""

from __future__ import annotations

import re
import unicodedata
from functools import cache

from stop_words import LANGUAGE_MAPPING, get_stop_words

from indexer.store.keywords import TOKEN

#: Scripts written without spaces between words: a run of them is matched piece by piece.
_UNSPACED = re.compile(
    r"[\u0e00-\u0e7f\u0e80-\u0eff\u1000-\u109f\u1780-\u17ff\u3040-\u30ff\u3400-\u4dbf"
    r"\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]+"
)
#: Shortest piece of an unspaced run worth marking: two characters (CJK), four in Thai, Lao, Myanmar, Khmer.
_MIN_PIECE = {"cjk": 2, "brahmic": 4}
_MAX_PIECE = 12
#: The package's English list (1,300 words) holds content words such as "water" or "world": a compact list
#: of English function words instead.
_ENGLISH = frozenset(
    """a about above after again against all am an and any are as at be because been before being
below between both but by can could did do does doing down during each few for from further had has have having he
her here hers herself him himself his how i if in into is it its itself just me more most my myself no nor not now of
off on once only or other our ours ourselves out over own same she should so some such than that the their theirs
them themselves then there these they this those through to too under until up very was we were what when where
which while who whom why will with would you your yours yourself yourselves also did does may might must shall upon
whose yet via per""".split()
)


@cache
def stop_words(language: str | None) -> frozenset[str]:
    """The stop words of a language, casefolded (an empty set for a language without a list).

    Args:
        language: an ISO 639-1 code, or None for the union of every list.

    Returns:
        The words.
    """
    if language is None:
        return frozenset().union(*(stop_words(code) for code in LANGUAGE_MAPPING))
    if language == "en":
        return _ENGLISH
    if language not in LANGUAGE_MAPPING:
        return frozenset()
    return frozenset(w.casefold() for w in get_stop_words(language))


def highlight_spans(
    text: str, query: str, query_language: str | None = None, passage_language: str | None = None
) -> list[tuple[int, int]]:
    """Character spans of ``text`` where a meaningful word of ``query`` occurs (case-insensitive, whole words).

    Stop words of either language are never marked. When the passage is in another language than the query,
    only literal matches are marked: numbers and names (words the query writes with a capital or a digit), and
    pieces of scripts without spaces; the meaning is the passage's own.

    Args:
        text: the passage.
        query: the user's query.
        query_language: the query's language code, if known.
        passage_language: the passage's language code, if known.

    Returns:
        Sorted, non-overlapping (start, end) spans.
    """
    known, stops = _stops(query_language, passage_language)
    cross = len(set(known)) == 2
    words = _query_words(query, stops, cross)
    pieces = _query_pieces(query, stops)
    spans = []
    for start, end in _word_spans(text):
        token = text[start:end]
        if token.casefold() in words:
            spans.append((start, end))
        elif pieces and _UNSPACED.search(token):
            spans += [(start + s, start + e) for s, e in _piece_spans(token, pieces)]
    return _merge(sorted(spans))


def _word_spans(text: str) -> list[tuple[int, int]]:
    """Runs of letters, digits and combining marks: unlike ``\\w+``, a Hindi or Thai vowel sign stays in its word."""
    return [m.span() for m in TOKEN.finditer(text)]


def match_share(
    text: str, query: str, query_language: str | None = None, passage_language: str | None = None
) -> float:
    """The share of the query's meaningful words (and pieces of unspaced scripts) that the passage holds.

    Across languages only literal matches count (names, numbers, see ``highlight_spans``), against all of the
    query's words: a name shared by a passage in another language is a strong match for a query that is the
    name, a weak one for a sentence that mentions it.

    Args:
        text: the passage.
        query: the user's query.
        query_language: the query's language code, if known.
        passage_language: the passage's language code, if known.

    Returns:
        A share in [0, 1] (0 for a query of stop words only).
    """
    known, stops = _stops(query_language, passage_language)
    units = _query_words(query, stops, False)
    counted = _query_words(query, stops, len(set(known)) == 2)
    bigrams = {p for p in _query_pieces(query, stops) if len(p) == _shortest(p)}
    if not units and not bigrams:
        return 0.0
    folded = text.casefold()
    words = set(TOKEN.findall(folded))
    matched = len(counted & words) + sum(p in folded for p in bigrams)
    return matched / (len(units) + len(bigrams))


def _query_words(query: str, stops: frozenset[str], cross: bool) -> set[str]:
    out = set()
    for word in (query[s:e] for s, e in _word_spans(query)):
        if _UNSPACED.search(word):
            continue  # matched piece by piece
        folded = word.casefold()
        number = any(c.isdigit() for c in word)
        if not number and (folded in stops or len(word) < 2):
            continue
        # Across languages a shared word is a name or a number; "hospital" in a Spanish passage may be one too.
        if cross and not (number or any(c.isupper() for c in word)):
            continue
        out.add(folded)
    return out


def _query_pieces(query: str, stops: frozenset[str]) -> set[str]:
    pieces = set()
    for run in _UNSPACED.findall(query.casefold()):
        shortest = _shortest(run)
        for size in range(shortest, min(len(run), _MAX_PIECE) + 1):
            pieces.update(run[i : i + size] for i in range(len(run) - size + 1))
    # A piece made of stop words only (的, 是, 了 ...) carries no meaning.
    return {p for p in pieces if p not in stops and not all(c in stops for c in p)}


def _piece_spans(token: str, pieces: set[str]) -> list[tuple[int, int]]:
    spans, folded, i = [], token.casefold(), 0
    shortest = _shortest(folded)
    while i < len(folded):
        # The longest piece of the query starting here, so that "洪水" is one mark, not two overlapping ones.
        size = next(
            (n for n in range(min(_MAX_PIECE, len(folded) - i), shortest - 1, -1) if folded[i : i + n] in pieces), 0
        )
        if size:
            spans.append((i, i + size))
        i += size or 1
    return spans


def _shortest(run: str) -> int:
    brahmic = run and unicodedata.name(run[0], "").split()[0] in ("THAI", "LAO", "MYANMAR", "KHMER")
    return _MIN_PIECE["brahmic" if brahmic else "cjk"]


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


@cache
def _stops(query_language: str | None, passage_language: str | None) -> tuple[tuple[str, ...], frozenset[str]]:
    # The known languages of the pair, and the stop words of either (the default list where neither is known).
    known = tuple(code for code in (query_language, passage_language) if code and code != "unknown")
    return known, frozenset().union(*(stop_words(code) for code in known)) if known else stop_words(None)
