"""The Collections page: counts and languages per collection, paged document lists, reading and deleting."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import altair as alt
import pandas as pd
import streamlit as st

from app.service import BabelSearchError, SearchService
from app.ui.confirm import NOTICE_KEY, confirm_delete
from app.ui.document import render_document
from app.ui.nav import link
from app.ui.text import language_label, md_inline
from app.ui.widgets import show_error

if TYPE_CHECKING:  # store records reach the UI through the service; they are named here for annotations only
    from app.service import CollectionInfo, DocumentInfo

PAGE_SIZE = 25
#: Sort choices -> the store's sortable columns.
SORTS = {
    "Date added": "created_at",
    "Title": "title",
    "Language": "language",
    "Size": "size",
    "File name": "source_name",
}


def render_collections(service: SearchService) -> None:
    """Render the Collections page.

    Args:
        service: the search service.
    """
    st.title("Collections")
    if notice := st.session_state.pop(NOTICE_KEY, None):
        st.success(notice, icon=":material/delete:")
    try:
        collections = service.collections()
    except BabelSearchError as e:
        show_error(e)
        return
    if not collections:
        st.info("There are no collections yet: upload documents to create one.", icon=":material/inbox:")
        link("upload", "Upload documents")
        return
    _overview(collections)
    st.subheader("Documents")
    name = st.selectbox("Collection", [c.name for c in collections], key="browse_collection")
    try:
        _documents(service, name)
    except BabelSearchError as e:  # e.g. deleted by another session meanwhile
        show_error(e)
    confirm_delete(
        f"the collection {md_inline(name)} and all its documents",
        f"collection:{name}",
        lambda: service.delete_collection(name),
    )


def _overview(collections: list[CollectionInfo]) -> None:
    table = pd.DataFrame(
        [
            {
                "Collection": c.name,
                "Documents": c.n_documents,
                "Passages": c.n_chunks,
                "Languages": len(c.languages),
                "Created": c.created_at,
            }
            for c in collections
        ]
    )
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        column_config={"Created": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm")},
    )
    rows = [(language_label(code), c.name, n) for c in collections for code, n in c.languages.items()]
    if rows:
        st.markdown("**Passages per language**")
        st.altair_chart(_language_chart(pd.DataFrame(rows, columns=["Language", "Collection", "Passages"])))


def _language_chart(frame: pd.DataFrame) -> alt.Chart:
    # A fixed step per language keeps bars readable whatever the number of languages.
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X("sum(Passages):Q", title="Passages", axis=alt.Axis(tickMinStep=1, format="d")),
            y=alt.Y("Language:N", sort="-x", title=None),
            color=alt.Color("Collection:N", legend=alt.Legend(orient="bottom")),
            tooltip=["Language", "Collection", "Passages"],
        )
        .properties(height=alt.Step(26))
    )


def _documents(service: SearchService, collection: str) -> None:
    total = service.count_documents(collection)
    pages = max(1, math.ceil(total / PAGE_SIZE))
    if st.session_state.get("browse_page", 1) > pages:  # the collection shrank since the page was chosen
        st.session_state["browse_page"] = pages
    sort_col, order_col, page_col = st.columns([2, 1, 1], vertical_alignment="bottom")
    sort = sort_col.selectbox("Sort by", list(SORTS), key="browse_sort")
    descending = order_col.toggle("Descending", key="browse_descending")
    page = page_col.number_input("Page", 1, pages, key="browse_page")
    docs = service.documents(collection, PAGE_SIZE, (page - 1) * PAGE_SIZE, SORTS[sort], descending)
    st.caption(f"{total:,} documents · page {page} of {pages}")
    st.dataframe(
        _table(docs),
        hide_index=True,
        width="stretch",
        column_config={
            "Added": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm"),
            "Size": st.column_config.NumberColumn(format="%d B"),
        },
    )
    # Options are plain text; isolates keep a right-to-left title from swapping places with its file name.
    labels = {d.id: f"\u2068{d.title or d.source_name}\u2069 — \u2068{d.source_name}\u2069" for d in docs}
    document_id = st.selectbox(
        "Read a document",
        list(labels),
        format_func=labels.__getitem__,
        index=None,
        key="browse_document",
        placeholder="Choose a document on this page",
    )
    if document_id is None:
        return
    with st.container(border=True):
        render_document(service, document_id)
    confirm_delete(
        f"the document {md_inline(next(d.title or d.source_name for d in docs if d.id == document_id))}",
        f"document:{document_id}",
        lambda: service.delete_document(document_id),
    )


def _table(docs: list[DocumentInfo]) -> pd.DataFrame:
    columns = ["Title", "File", "Language", "Size", "Passages", "Added", "Id"]
    rows = [(d.title, d.source_name, language_label(d.language), d.size, d.n_chunks, d.created_at, d.id) for d in docs]
    return pd.DataFrame(rows, columns=columns)
