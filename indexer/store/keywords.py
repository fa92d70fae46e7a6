"""Keyword queries, independent of the database: words, quoted phrases, scripts without spaces, filters.

Both keyword indexes (SQLite FTS5 and PostgreSQL full-text) index the text returned by ``segment`` and turn
a user query into the phrases and terms of ``parse``, so they find the same passages.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

#: Scripts written without spaces between words: Han, Hiragana, Katakana, Thai, Lao, Khmer, Myanmar.
NO_SPACE = re.compile(r"([\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff"
                      r"\uf900-\ufaff\uff66-\uff9f])")
_PHRASE = re.compile(r'"([^"]+)"')


def _marks() -> str:
    """A regex class body of every combining mark (vowel signs of Indic scripts, Arabic harakat, accents)."""
    ranges, start, prev = [], None, None
    for code in range(0x20000):  # the planes with scripts in use
        if unicodedata.category(chr(code)).startswith("M"):
            if start is None or code != prev + 1:
                if start is not None:
                    ranges.append((start, prev))
                start = code
            prev = code
    ranges.append((start, prev))
    return "".join(f"\\U{a:08x}-\\U{b:08x}" if a != b else f"\\U{a:08x}" for a, b in ranges)


#: A word: letters and digits with the combining marks inside them ("हिंदी" is one word, not "ह" and "द").
TOKEN = re.compile(rf"(?:[^\W_]|[{_marks()}])+")


def segment(value: str) -> str:
    """Put spaces around each character of a script without word spaces.

    With every such character a token, a phrase of consecutive characters finds a CJK or Thai word wherever it
    stands, which a tokenizer making one token per run of letters cannot.

    Args:
        value: any text.

    Returns:
        The text to index or to search with.
    """
    return NO_SPACE.sub(r" \1 ", value)


def tokens(value: str) -> list[str]:
    """The words of a text after ``segment``, in order."""
    return TOKEN.findall(segment(value))


@dataclass(frozen=True)
class KeywordQuery:
    """A parsed keyword query: each phrase and term is a sequence of tokens that must stand in a row.

    Attributes:
        phrases: quoted phrases, all required.
        terms: the other words, any of them (a run of CJK or Thai becomes its character bigrams).
    """

    phrases: tuple[tuple[str, ...], ...]
    terms: tuple[tuple[str, ...], ...]


def parse(query: str) -> KeywordQuery:
    """Split a user query into required phrases and optional terms.

    Args:
        query: e.g. ``"Selene-3" water ice``.

    Returns:
        The phrases and terms, without duplicates; both are empty when the query has no word.
    """
    phrases = [tuple(tokens(p)) for p in _PHRASE.findall(query)]
    terms: list[tuple[str, ...]] = []
    for word in TOKEN.findall(_PHRASE.sub(" ", query)):
        chars = tokens(word)
        if len(chars) > 2 and NO_SPACE.search(word):
            # A run of CJK or Thai has no word boundaries: match its character bigrams, any of them.
            terms += [tuple(chars[i:i + 2]) for i in range(len(chars) - 1)]
        else:
            terms.append(tuple(chars))
    return KeywordQuery(tuple(dict.fromkeys(p for p in phrases if p)), tuple(dict.fromkeys(t for t in terms if t)))


def has_phrases(query: str) -> bool:
    """Whether the query quotes a phrase (then only passages containing it may be returned)."""
    return bool(parse(query).phrases)


def fold(word: str) -> str:
    """Lower-case a word and drop the accents of Latin letters ("Café" → "cafe"); other scripts keep their marks.

    The SQLite index does the same inside FTS5 (``remove_diacritics``); the PostgreSQL index gets folded words.
    """
    out, base = [], ""
    for ch in unicodedata.normalize("NFKD", word.casefold()):
        if unicodedata.combining(ch):
            if base and base < "\u0250":
                continue
        else:
            base = ch
        out.append(ch)
    return unicodedata.normalize("NFC", "".join(out))


def filter_clauses(filters: dict[str, list[str] | None]) -> tuple[list[str], dict[str, str]]:
    """SQL conditions and bound parameters for the active filters (the one piece of SQL both keyword indexes share).

    Args:
        filters: SQL column (``col.name``, ``c.language``, ``d.mime``) → allowed values, or None for no filter.

    Returns:
        (conditions to AND together, their parameters).
    """
    where, params = [], {}
    for n, (column, values) in enumerate(filters.items()):
        if values is not None:
            keys = [f"f{n}_{i}" for i in range(len(values))]
            where.append(f"{column} IN ({', '.join(':' + key for key in keys)})" if keys else "1 = 0")
            params.update(zip(keys, values))
    return where, params
