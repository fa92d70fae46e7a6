"""Reading one whole document, with the passage that was found located and marked."""

from __future__ import annotations

import streamlit as st

from app.pages import page_span
from app.results import SearchResult
from app.service import BabelSearchError, SearchService
from app.ui.text import highlight_markdown, is_rtl, language_label, md_inline, md_paragraphs
from app.ui.widgets import passage_key, show_error

#: Characters shown before and after the passage; longer documents are cut around it.
CONTEXT_CHARS = 20_000


def render_document(service: SearchService, document_id: int, result: SearchResult | None = None) -> None:
    """Show a document's facts and full text.

    Args:
        service: the search service.
        document_id: the document to show.
        result: the search result that led here; its passage is framed and its query words marked.
    """
    try:
        doc = service.document(document_id)
    except BabelSearchError as e:
        show_error(e)
        return
    text = doc.text or ""
    st.markdown(f"#### {md_inline(doc.title or doc.source_name)}")
    facts = [
        md_inline(doc.source_name),
        f"collection {md_inline(doc.collection)}",
        language_label(doc.language),
        f"{doc.size:,} bytes",
        f"{doc.n_chunks} passage{'' if doc.n_chunks == 1 else 's'}",
        f"added {doc.created_at:%Y-%m-%d %H:%M}",
    ]
    st.caption(" · ".join(facts))
    start, end = (result.char_start, result.char_end) if result else (0, 0)
    if not 0 <= start < end <= len(text):
        start = end = 0  # no passage to mark, or offsets from an older version of the text
    # A paged document (PDF, slides, scans) opens at the page the passage starts on.
    span = page_span(doc.metadata or {}, result.page if result and end else None, len(text))
    if span:
        st.caption(f"Page {result.page} of {span[2]}")
    with st.container(key=passage_key(f"doc-{document_id}", is_rtl(doc.language, text))):
        _render_text(text, start, end, result, span[0] if span and span[0] <= start else None)


def _render_text(text: str, start: int, end: int, result: SearchResult | None, first: int | None = None) -> None:
    if first is None:
        first = max(0, start - CONTEXT_CHARS) if end else 0
    last = min(len(text), end + CONTEXT_CHARS) if end else min(len(text), 2 * CONTEXT_CHARS)
    if first > 0:
        st.caption(f"… {first:,} earlier characters not shown")
    if text[first:start].strip():
        st.markdown(md_paragraphs(text[first:start]))
    if end:
        passage = text[start:end]
        # The result's highlight spans index its own text; use them only if it is the same passage.
        spans = result.highlights if result and result.text == passage else []
        with st.container(border=True):
            st.caption("Matched passage")
            st.markdown(highlight_markdown(passage, spans))
    if text[max(first, end) : last].strip():
        st.markdown(md_paragraphs(text[max(first, end) : last]))
    if last < len(text):
        st.caption(f"… {len(text) - last:,} later characters not shown")
    if not text.strip():
        st.info("This document has no stored text.")


@st.dialog("Document", width="large")
def show_document(service: SearchService, document_id: int, result: SearchResult | None = None) -> None:
    """Open a document in a dialog (see ``render_document``).

    Args:
        service: the search service.
        document_id: the document to show.
        result: the search result that led here.
    """
    render_document(service, document_id, result)
