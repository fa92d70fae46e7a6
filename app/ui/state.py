"""The one SearchService of this Streamlit process, shared by every session and page."""

from __future__ import annotations

import logging
import threading

import streamlit as st

from app.service import SearchService, load_settings

logger = logging.getLogger(__name__)


@st.cache_resource(show_spinner="Opening the index…")
def get_service() -> SearchService:
    """Create the service once per process from the settings (data directory from ``BABELSEARCH_HOME``).

    Returns:
        The shared SearchService; it locks around writes, so sessions may share it.
    """
    service = SearchService(load_settings())
    # Models, index and profiles load in the background: the page shows now, and the first query answers at once.
    threading.Thread(target=_warm_up, args=(service,), name="warm-up", daemon=True).start()
    return service


def _warm_up(service: SearchService) -> None:
    try:
        service.warm_up()
    except Exception:  # noqa: BLE001 - the first search reports the same error to the analyst, with its message
        logger.warning("warming up the search service failed; the first search will retry", exc_info=True)
