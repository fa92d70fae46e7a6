"""Export result lists to CSV and JSON (stance, language, source and passage included)."""

from __future__ import annotations

import io
import json

import pandas as pd

from app.results import SearchResponse

COLUMNS = ["query", "rank", "score", "stance", "p_entail", "p_neutral", "p_contradict", "rerank_score", "language",
           "collection", "title", "source_name", "page", "document_id", "chunk_id", "char_start", "char_end", "text"]


def to_frame(responses: list[SearchResponse]) -> pd.DataFrame:
    """One row per result, with the query it answers.

    Args:
        responses: search responses.

    Returns:
        A DataFrame with the ``COLUMNS`` columns.
    """
    rows = [{"query": resp.query, **r.to_dict()} for resp in responses for r in resp.results]
    return pd.DataFrame(rows, columns=COLUMNS)


def to_csv(responses: list[SearchResponse]) -> str:
    """CSV text (UTF-8, header row) of the results.

    Spreadsheet formula injection is defused: a cell starting with = + - @ gets a leading apostrophe.
    """
    frame = to_frame(responses)
    for column in ("title", "source_name", "text", "collection", "query"):
        frame[column] = frame[column].map(_defuse)
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False)
    return buffer.getvalue()


def to_json(responses: list[SearchResponse]) -> str:
    """JSON text: a list of {query, results} objects."""
    return json.dumps([{"query": r.query, "results": [x.to_dict() for x in r.results]} for r in responses],
                      ensure_ascii=False, indent=2)


def _defuse(value: object) -> object:
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value
