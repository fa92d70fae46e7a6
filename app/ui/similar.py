"""The "More like this" view: passages like one document's, in every language, in place of the query's results."""

from __future__ import annotations

from typing import Any

import streamlit as st

from app.service import BabelSearchError, SearchService
from app.ui.result_card import SIMILAR_KEY
from app.ui.result_list import render_cards, render_summary
from app.ui.text import md_inline
from app.ui.widgets import show_error


def similar_target(query: str) -> dict[str, Any] | None:
    """The document chosen with "More like this" for this query, if any; a new query leaves that view.

    Args:
        query: the query in the search box.

    Returns:
        {document_id, title, query} or None.
    """
    target = st.session_state.get(SIMILAR_KEY)
    if target is not None and target["query"] != query:
        del st.session_state[SIMILAR_KEY]
        return None
    return target


def render_similar(service: SearchService, target: dict[str, Any], k: int) -> None:
    """Show the passages most like a document's, across languages, with a way back to the query's results.

    Args:
        service: the search service.
        target: what ``similar_target`` returned.
        k: number of results.
    """
    st.button("Back to the results", key="similar_back", icon=":material/arrow_back:", on_click=_back)
    st.subheader(f"More like {md_inline(target['title'])}", anchor=False)
    try:
        response = service.similar(target["document_id"], k=k)
    except BabelSearchError as e:  # e.g. the document was deleted meanwhile
        show_error(e)
        return
    st.caption("Passages of other documents closest in meaning to the whole document, with the languages balanced.")
    render_summary(response, response.results, f"babel-search-like-{target['document_id']}", subject="document")
    if not response.results:
        st.info("No other document is like this one yet.", icon=":material/search_off:")
        return
    render_cards(service, response.results, target["query"])


def _back() -> None:
    st.session_state.pop(SIMILAR_KEY, None)
