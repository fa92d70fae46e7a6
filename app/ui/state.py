"""The one SearchService of this Streamlit process, shared by every session and page."""

from __future__ import annotations

import streamlit as st

from app.service import SearchService, load_settings


@st.cache_resource(show_spinner="Opening the index…")
def get_service() -> SearchService:
    """Create the service once per process from the settings (data directory from ``BABELSEARCH_HOME``).

    Returns:
        The shared SearchService; it locks around writes, so sessions may share it.
    """
    return SearchService(load_settings())
