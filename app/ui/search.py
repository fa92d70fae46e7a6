"""The Search page: one query box in any language, filters, and ranked passages with their words marked."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import streamlit as st

from app.results import SearchResponse, SearchResult
from app.service import SearchService
from app.ui.document import show_document
from app.ui.nav import link
from app.ui.text import highlight_markdown, is_rtl, language_label, md_inline
from app.ui.widgets import passage_key, show_error
from indexer.errors import BabelSearchError

if TYPE_CHECKING:  # store records reach the UI through the service; they are named here for annotations only
    from indexer.store.records import CollectionInfo

#: File type filter: label -> MIME types stored by the loaders.
FILE_TYPES: dict[str, list[str]] = {
    "Plain text (.txt)": ["text/plain"],
    "Markdown (.md)": ["text/markdown"],
    "Web page (.html)": ["text/html"],
    "PDF (.pdf)": ["application/pdf"],
    "Word (.docx)": ["application/vnd.openxmlformats-officedocument.wordprocessingml.document"],
    "Table rows (.csv)": ["text/csv"],
    "JSON Lines (.jsonl)": ["application/jsonl"],
    "E-mail (.eml)": ["message/rfc822"],
}
PLACEHOLDER = "e.g. flooding in the city centre · наводнение в центре города · 市中心的洪水"


def render_search(service: SearchService) -> None:
    """Render the Search page.

    Args:
        service: the search service.
    """
    st.title("Search")
    try:
        collections = service.collections()
    except BabelSearchError as e:
        show_error(e)
        return
    if not any(c.n_chunks for c in collections):
        st.info(
            "The index is empty. Upload documents in any language first, then search them here.",
            icon=":material/inbox:",
        )
        link("upload", "Upload documents")
        return
    options = _filters(collections)
    query = st.text_input("Search in any language", key="query", placeholder=PLACEHOLDER)
    if not query.strip():
        st.info(
            "Type a question or a few words, in any language: passages in every language are found by "
            "meaning, not by shared words. Narrow the search with the filters in the sidebar."
        )
        return
    try:
        response = service.search(query, **options)
    except BabelSearchError as e:
        show_error(e)
        return
    _render_response(service, response)


def _filters(collections: list[CollectionInfo]) -> dict[str, Any]:
    languages = sorted({code for c in collections for code in c.languages if code != "unknown"})
    with st.sidebar:
        st.header("Filters")
        names = st.multiselect(
            "Collections", [c.name for c in collections], key="filter_collections", placeholder="All collections"
        )
        codes = st.multiselect(
            "Result languages",
            languages,
            format_func=language_label,
            key="filter_languages",
            placeholder="All languages",
        )
        types = st.multiselect("File types", list(FILE_TYPES), key="filter_types", placeholder="All file types")
        k = st.slider("Number of results", 1, 50, 10, key="k")
    mimes = [mime for label in types for mime in FILE_TYPES[label]]
    return {"k": k, "collections": names or None, "languages": codes or None, "mimes": mimes or None}


def _render_response(service: SearchService, response: SearchResponse) -> None:
    found = f"{len(response.results)} passage{'s' if len(response.results) != 1 else ''}"
    language = f" · query in {language_label(response.query_language)}" if response.query_language else ""
    st.caption(f"{found} in {response.elapsed_ms:.0f} ms{language}")
    if not response.results:
        st.warning(
            "No passage matches these filters. Clear a filter in the sidebar (collections, languages, "
            "file types), or upload documents in the languages you need.",
            icon=":material/search_off:",
        )
        return
    for result in response.results:
        _render_result(service, result)


def _render_result(service: SearchService, result: SearchResult) -> None:
    with st.container(border=True):
        st.markdown(f"**{result.rank}\\. {md_inline(result.title or result.source_name)}**")
        facts = [
            f":material/description: {md_inline(result.source_name)}",
            f":material/folder: {md_inline(result.collection)}",
            f":material/translate: {language_label(result.language)}",
            f"score {result.score:.3f}",
        ]
        st.caption(" · ".join(facts))
        with st.container(key=passage_key(str(result.rank), is_rtl(result.language, result.text))):
            st.markdown(highlight_markdown(result.text, result.highlights))
        if st.button("Open document", key=f"open_{result.rank}", icon=":material/article:", type="tertiary"):
            show_document(service, result.document_id, result)
