"""Download buttons for the result list on screen, as CSV and as JSON."""

from __future__ import annotations

import streamlit as st

from app.export import to_csv, to_json
from app.results import SearchResponse


def render_downloads(response: SearchResponse, name: str) -> None:
    """Offer the response's results (stances included when checked) as a CSV and a JSON file.

    Args:
        response: the results as shown, after any stance filter.
        name: the file name without extension, e.g. "babel-search-results".
    """
    with st.container(horizontal=True, gap="small", width="content", key="downloads"):
        # on_click="ignore": a download needs no rerun of the search.
        st.download_button(
            "CSV",
            to_csv([response]),
            file_name=f"{name}.csv",
            mime="text/csv",
            key="download_csv",
            icon=":material/download:",
            on_click="ignore",
            help="These results as a table: rank, score, stance, language, source and passage",
        )
        st.download_button(
            "JSON",
            to_json([response]),
            file_name=f"{name}.json",
            mime="application/json",
            key="download_json",
            icon=":material/download:",
            on_click="ignore",
            help="These results as JSON, with the highlight spans",
        )
