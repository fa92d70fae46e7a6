"""Small shared widgets: static CSS for passages, escaped errors and tables."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app.ui.text import md_escape

# Static CSS only (no user content): keyed containers get the class "st-key-<key>".
_CSS = """<style>
[class*="st-key-passage-"] { overflow-wrap: anywhere; }
[class*="st-key-passage-rtl-"] { direction: rtl; }
[class*="st-key-passage-rtl-"] [data-testid="stMarkdownContainer"] { text-align: right; }
</style>"""


def passage_key(name: str, rtl: bool) -> str:
    """The container key that gives a passage its wrapping and direction through the static CSS.

    Args:
        name: unique part of the key on the page, e.g. the result rank.
        rtl: lay the passage out right to left.

    Returns:
        A key such as "passage-rtl-3".
    """
    return f"passage-{'rtl-' if rtl else ''}{name}"


def inject_css() -> None:
    """Add the static style rules for passages (no user content is ever part of this HTML)."""
    st.html(_CSS)


def show_error(error: Exception, context: str = "") -> None:
    """Show a domain error; its message may quote file or collection names, so it is escaped.

    Args:
        error: the caught ``BabelSearchError``.
        context: static Markdown put before the message, e.g. "Cannot open the index: ".
    """
    st.error(f"{context}{md_escape(str(error))}", icon=":material/error:")


def escaped_table(frame: pd.DataFrame) -> None:
    """Show a table whose long cells wrap; ``st.table`` reads cells as Markdown, so every cell is escaped.

    Args:
        frame: the rows to show; cells are converted to text.
    """
    st.table(frame.map(lambda cell: md_escape(str(cell))), hide_index=True)
