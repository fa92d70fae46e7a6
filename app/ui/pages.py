"""The multipage navigation: one st.Page per render_*(service) function."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from app.service import BabelSearchError, SearchService
from app.ui.browse import render_collections
from app.ui.jobs import render_jobs
from app.ui.nav import PAGE_INFO
from app.ui.search import render_search
from app.ui.state import get_service
from app.ui.status import render_status
from app.ui.upload import render_upload
from app.ui.widgets import inject_css, show_error

RENDERERS: dict[str, Callable[[SearchService], None]] = {
    "search": render_search,
    "collections": render_collections,
    "upload": render_upload,
    "jobs": render_jobs,
    "status": render_status,
}


def _page_runner(render: Callable[[SearchService], None]) -> Callable[[], None]:
    def run() -> None:
        try:
            service = get_service()
        except BabelSearchError as e:  # e.g. a data directory built with another model
            show_error(e, "Cannot open the index: ")
            return
        inject_css()
        render(service)

    return run


def pages(default: str = "search") -> list[st.Page]:
    """The app's pages for ``st.navigation``.

    Args:
        default: url_path of the page shown at the root URL (tests open any page this way).

    Returns:
        One st.Page per entry of ``PAGE_INFO``.
    """
    return [
        st.Page(
            _page_runner(RENDERERS[url_path]), title=title, icon=icon, url_path=url_path, default=url_path == default
        )
        for url_path, (title, icon) in PAGE_INFO.items()
    ]
