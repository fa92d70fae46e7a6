"""Plain result dataclasses returned by the search service (highlighting: ``app.highlight``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from app.highlight import highlight_spans

# Re-exported: results and their highlight spans come from one module.
__all__ = ["IndexStats", "SearchResponse", "SearchResult", "highlight_spans"]


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
    #: 1-based page (slide) where the passage starts; None for formats without pages (see ``app.pages``).
    page: int | None = None

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
