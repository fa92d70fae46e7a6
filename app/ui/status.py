"""The Status page: model, index and database facts, counts and recent ingest errors."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app.service import BabelSearchError, SearchService
from app.ui.widgets import escaped_table, show_error


def render_status(service: SearchService) -> None:
    """Render the Status page.

    Args:
        service: the search service.
    """
    st.title("Status")
    try:
        stats = service.stats()
        errors = service.errors(50)
    except BabelSearchError as e:
        show_error(e)
        return
    cols = st.columns(4)
    for col, (label, value) in zip(
        cols,
        [
            ("Collections", stats.collections),
            ("Documents", stats.documents),
            ("Passages", stats.chunks),
            ("Vectors", stats.vectors),
        ],
    ):
        col.metric(label, f"{value:,}")
    if stats.vectors != stats.chunks:
        st.warning(
            f"The vector index holds {stats.vectors:,} vectors for {stats.chunks:,} passages. "
            "Rebuild it with `babelsearch reindex`."
        )
    st.subheader("Model and index")
    facts = {
        "Embedding model": stats.model,
        "Model fingerprint": stats.fingerprint or "(not built yet)",
        "Embedding dimension": str(stats.dim or "(not built yet)"),
        "Vector index": stats.index_type,
        "NLI reranker": stats.nli_model or "(none)",
        "Database": stats.database,
        "Data directory": stats.home,
    }
    escaped_table(pd.DataFrame({"Setting": list(facts), "Value": list(facts.values())}))
    st.subheader("Recent ingest errors")
    if not errors:
        st.success("No ingest errors recorded.", icon=":material/check_circle:")
        return
    st.caption(f"The latest {len(errors)} of {stats.errors:,} recorded.")
    rows = [(f"{e.created_at:%Y-%m-%d %H:%M}", e.file_name, e.collection, e.stage, e.message) for e in errors]
    escaped_table(pd.DataFrame(rows, columns=["When", "File", "Collection", "Stage", "Reason"]))
