"""One search result: title, stance badge, facts, the passage with its words marked, and its actions."""

from __future__ import annotations

import streamlit as st

from app.results import SearchResult
from app.service import SearchService
from app.ui.document import show_document
from app.ui.text import highlight_markdown, is_rtl, language_label, md_escape, md_inline
from app.ui.widgets import passage_key

#: Badge colour of each stance; another label (from a future model) is shown in gray.
STANCE_COLORS = {"supports": "green", "contradicts": "red", "neutral": "blue", "unclear": "gray"}
#: Session key of the document whose "More like this" results are shown: {document_id, title, query}.
SIMILAR_KEY = "similar_to"


def stance_badge(result: SearchResult) -> str:
    """A Markdown badge with the result's stance and its probability, e.g. ``:green-badge[supports · 91 %]``.

    A stance the model is not confident about reads ``unclear``, without a probability.

    Args:
        result: a result, with or without a stance.

    Returns:
        The badge, or "" when the stance was not checked.
    """
    if not result.stance:
        return ""
    if result.stance == "unclear":  # below the model's confidence threshold: no label, no number to trust
        return ":gray-badge[unclear]"
    probability = {"supports": result.p_entail, "contradicts": result.p_contradict, "neutral": result.p_neutral}
    p = probability.get(result.stance)
    share = f" · {p:.0%}".replace("%", " %") if p is not None else ""
    return f":{STANCE_COLORS.get(result.stance, 'gray')}-badge[{md_escape(result.stance)}{share}]"


def render_result(service: SearchService, result: SearchResult, query: str) -> None:
    """Show one result in a bordered card with "Open document" and "More like this".

    Args:
        service: the search service (the document dialog reads the whole document).
        result: the result.
        query: the query shown, remembered by "More like this" so that a new query leaves that view.
    """
    with st.container(border=True):
        title = f"**{result.rank}\\. {md_inline(result.title or result.source_name)}**"
        st.markdown(f"{title} {stance_badge(result)}".strip())
        facts = [
            f":material/description: {md_inline(result.source_name)}",
            f":material/folder: {md_inline(result.collection)}",
            f":material/translate: {language_label(result.language)}",
            f"score {result.score:.3f}",
        ]
        if result.page is not None:
            # The page (slide) the passage starts on, for PDFs, slides and scans.
            facts.insert(1, f"p. {result.page}")
        st.caption(" · ".join(facts))
        with st.container(key=passage_key(str(result.rank), is_rtl(result.language, result.text))):
            st.markdown(highlight_markdown(result.text, result.highlights))
        with st.container(horizontal=True, gap="medium"):
            opened = st.button("Open document", key=f"open_{result.rank}", icon=":material/article:", type="tertiary")
            st.button(
                "More like this",
                key=f"similar_{result.rank}",
                icon=":material/join_inner:",
                type="tertiary",
                help="Passages like this document's, in every language",
                on_click=_more_like,
                args=(result, query),
            )
    if opened:
        show_document(service, result.document_id, result)


def _more_like(result: SearchResult, query: str) -> None:
    st.session_state[SIMILAR_KEY] = {
        "document_id": result.document_id,
        "title": result.title or result.source_name,
        "query": query,
    }
