"""Plain result dataclasses returned by the search service, and snippet highlighting."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

#: Words shorter than this are not highlighted (articles, particles).
MIN_HIGHLIGHT = 3
_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass
class SearchResult:
    """One passage found for a query."""

    rank: int
    score: float
    text: str
    source_name: str
    title: str
    language: str | None
    collection: str
    document_id: int
    chunk_id: int
    char_start: int
    char_end: int
    mime: str = ""
    highlights: list[tuple[int, int]] = field(default_factory=list)
    stance: str | None = None
    p_entail: float | None = None
    p_neutral: float | None = None
    p_contradict: float | None = None
    rerank_score: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (rerank fields only when reranked)."""
        out = asdict(self)
        out["highlights"] = [list(h) for h in self.highlights]
        if self.stance is None:
            for key in ("stance", "p_entail", "p_neutral", "p_contradict", "rerank_score"):
                out.pop(key)
        return out


@dataclass
class SearchResponse:
    """The results of one query with timing and per-language counts."""

    query: str
    results: list[SearchResult]
    elapsed_ms: float
    query_language: str | None = None
    language_counts: dict[str, int] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {"query": self.query, "results": [r.to_dict() for r in self.results],
                "elapsed_ms": round(self.elapsed_ms, 2), "query_language": self.query_language,
                "language_counts": self.language_counts, "options": self.options}


@dataclass
class IndexStats:
    """What the status page and ``babelsearch stats`` show."""

    collections: int
    documents: int
    chunks: int
    vectors: int
    model: str
    fingerprint: str
    dim: int
    index_type: str
    database: str
    home: str
    errors: int
    nli_model: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return asdict(self)


def highlight_spans(text: str, query: str) -> list[tuple[int, int]]:
    """Character spans of ``text`` where a word of ``query`` occurs (case-insensitive, whole words).

    Args:
        text: the passage.
        query: the user's query.

    Returns:
        Sorted, non-overlapping (start, end) spans.
    """
    words = {w.casefold() for w in _WORD.findall(query) if len(w) >= MIN_HIGHLIGHT or not w.isascii()}
    if not words:
        return []
    spans = []
    for match in _WORD.finditer(text):
        token = match.group().casefold()
        # Scripts without spaces (CJK) yield long runs: match query words inside them too.
        if token in words:
            spans.append(match.span())
        elif not token.isascii():
            spans += [(match.start() + i, match.start() + i + len(w)) for w in words if len(w) >= 2
                      for i in _find_all(token, w)]
    return _merge(sorted(spans))


def _find_all(haystack: str, needle: str) -> list[int]:
    out, start = [], haystack.find(needle)
    while start >= 0:
        out.append(start)
        start = haystack.find(needle, start + 1)
    return out


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged
