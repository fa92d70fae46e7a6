"""Page names and links between pages (the pages themselves are registered in app.ui.pages)."""

from __future__ import annotations

import streamlit as st

#: url_path -> (title, icon) of every page, in navigation order.
PAGE_INFO: dict[str, tuple[str, str]] = {
    "search": ("Search", ":material/search:"),
    "collections": ("Collections", ":material/folder_open:"),
    "upload": ("Upload", ":material/upload_file:"),
    "jobs": ("Jobs", ":material/pending_actions:"),
    "status": ("Status", ":material/monitoring:"),
}


def _never_run() -> None:
    """Stand-in body of a link target: a link only needs the page's url_path, st.navigation runs the real one."""


def link(url_path: str, label: str | None = None) -> None:
    """Show a link to another page of the app.

    Args:
        url_path: a key of ``PAGE_INFO``.
        label: the link text; defaults to "Go to <title>".
    """
    title, icon = PAGE_INFO[url_path]
    target = st.Page(_never_run, title=title, icon=icon, url_path=url_path)
    st.page_link(target, label=label or f"Go to {title}")
