"""A list of results: what was found and how fast, with download buttons, then one card per result."""

from __future__ import annotations

from dataclasses import replace

import streamlit as st

from app.results import SearchResponse, SearchResult
from app.service import SearchService
from app.ui.downloads import render_downloads
from app.ui.result_card import render_result
from app.ui.text import language_label


def summary(response: SearchResponse, shown: list[SearchResult], subject: str = "query") -> str:
    """The line above the results, e.g. "10 passages in 35 ms · query in English (en)".

    Args:
        response: the service's response.
        shown: the results left after the page's own filters.
        subject: what ``response.query_language`` is the language of ("query", "document").

    Returns:
        Plain text (no user content).
    """
    total = len(response.results)
    found = f"{total} passage{'s' if total != 1 else ''}"
    if len(shown) != total:
        found = f"{len(shown)} of {found} shown"
    language = f" · {subject} in {language_label(response.query_language)}" if response.query_language else ""
    return f"{found} in {response.elapsed_ms:.0f} ms{language}"


def render_summary(
    response: SearchResponse, shown: list[SearchResult], file_name: str, subject: str = "query"
) -> None:
    """Show the summary line with CSV and JSON downloads of exactly the results shown.

    Args:
        response: the service's response.
        shown: the results to show, in order.
        file_name: the download file name without extension.
        subject: what the response's language is the language of.
    """
    with st.container(horizontal=True, vertical_alignment="center", key="summary"):
        st.caption(summary(response, shown, subject))
        if shown:
            render_downloads(replace(response, results=shown), file_name)


def render_cards(service: SearchService, shown: list[SearchResult], query: str) -> None:
    """Show one card per result.

    Args:
        service: the search service.
        shown: the results to show, in order.
        query: the query on screen (see ``render_result``).
    """
    for result in shown:
        render_result(service, result, query)
