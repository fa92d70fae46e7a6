"""The Collections page: counts and languages per collection, paged document lists, reading and deleting."""

from __future__ import annotations

import math
from collections.abc import Callable

import pandas as pd
import streamlit as st

from app.service import SearchService
from app.ui.document import render_document
from app.ui.nav import link
from app.ui.text import language_label, md_escape, show_error
from indexer.errors import BabelSearchError
from indexer.store.records import CollectionInfo, DocumentInfo

PAGE_SIZE = 25
#: Sort choices -> the store's sortable columns.
SORTS = {"Date added": "created_at", "Title": "title", "Language": "language", "Size": "size",
         "File name": "source_name"}


def render_collections(service: SearchService) -> None:
    """Render the Collections page.

    Args:
        service: the search service.
    """
    st.title("Collections")
    if notice := st.session_state.pop("browse_notice", None):
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
    _confirm_delete(f"the collection {md_escape(name)} and all its documents", f"collection:{name}",
                    lambda: service.delete_collection(name))


def _overview(collections: list[CollectionInfo]) -> None:
    table = pd.DataFrame([{"Collection": c.name, "Documents": c.n_documents, "Passages": c.n_chunks,
                           "Languages": len(c.languages), "Created": c.created_at} for c in collections])
    st.dataframe(table, hide_index=True, width="stretch",
                 column_config={"Created": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm")})
    rows = [{"Language": language_label(code), "Collection": c.name, "Passages": n}
            for c in collections for code, n in c.languages.items()]
    if rows:
        st.markdown("**Passages per language**")
        st.bar_chart(pd.DataFrame(rows), x="Language", y="Passages", color="Collection", horizontal=True,
                     height=max(160, 34 * len({r["Language"] for r in rows})))


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
    st.dataframe(_table(docs), hide_index=True, width="stretch",
                 column_config={"Added": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm"),
                                "Size": st.column_config.NumberColumn(format="%d B")})
    titles = {d.id: f"{d.title or d.source_name} — {d.source_name}" for d in docs}
    document_id = st.selectbox("Read a document", list(titles), format_func=titles.__getitem__, index=None,
                               key="browse_document", placeholder="Choose a document on this page")
    if document_id is None:
        return
    with st.container(border=True):
        render_document(service, document_id)
    _confirm_delete(f"the document {md_escape(titles[document_id])}", f"document:{document_id}",
                    lambda: service.delete_document(document_id))


def _table(docs: list[DocumentInfo]) -> pd.DataFrame:
    return pd.DataFrame([{"Title": d.title, "File": d.source_name, "Language": language_label(d.language),
                          "Size": d.size, "Passages": d.n_chunks, "Added": d.created_at, "Id": d.id}
                         for d in docs], columns=["Title", "File", "Language", "Size", "Passages", "Added", "Id"])


def _confirm_delete(what: str, target: str, delete: Callable[[], int]) -> None:
    """Two steps: a delete button, then a warning with confirm and cancel buttons."""
    kind = target.split(":", 1)[0]
    if st.session_state.get("pending_delete") != target:
        if st.button(f"Delete this {kind}", key=f"delete_{kind}", icon=":material/delete:"):
            st.session_state["pending_delete"] = target
            st.rerun()
        return
    st.warning(f"Delete {what}? This cannot be undone.", icon=":material/warning:")
    yes, no = st.columns(2)
    if no.button("Cancel", key="cancel_delete"):
        del st.session_state["pending_delete"]
        st.rerun()
    if yes.button("Yes, delete", key="confirm_delete", type="primary"):
        try:
            removed = delete()
        except BabelSearchError as e:
            show_error(e)
            return
        del st.session_state["pending_delete"]
        st.session_state["browse_notice"] = f"Deleted {what} ({removed:,} passages removed)."
        st.rerun()
