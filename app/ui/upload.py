"""The Upload page: many files into an existing or new collection, with progress and a per-file report."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path, PurePath

import pandas as pd
import streamlit as st
from streamlit.runtime.uploaded_file_manager import UploadedFile

from app.service import SearchService
from app.ui.text import md_inline
from app.ui.widgets import escaped_table, show_error
from indexer.errors import BabelSearchError
from indexer.loaders import SUPPORTED_EXTENSIONS
from indexer.report import IngestReport, Progress

EXTENSIONS = sorted(ext.lstrip(".") for ext in SUPPORTED_EXTENSIONS)
COPY_CHUNK = 1024 * 1024


def render_upload(service: SearchService) -> None:
    """Render the Upload page.

    Args:
        service: the search service.
    """
    st.title("Upload")
    try:
        names = [c.name for c in service.collections()]
    except BabelSearchError as e:
        show_error(e)
        return
    collection = _choose_collection(names)
    limit_mb = st.get_option("server.maxUploadSize")
    files = st.file_uploader("Documents", type=EXTENSIONS, accept_multiple_files=True, key="upload_files")
    st.caption(
        f"Accepted: {', '.join(EXTENSIONS)} · up to {limit_mb} MB per file. The language of each document "
        "is detected; a file that cannot be read is reported and the others go on. For bigger files or "
        "whole folders use `babelsearch ingest`."
    )
    if st.button("Ingest", key="ingest", type="primary", icon=":material/input:", disabled=not (files and collection)):
        report = _ingest(service, files, collection)
        if report is not None:
            st.session_state["upload_report"] = report
    if report := st.session_state.get("upload_report"):
        _render_report(report)


def _choose_collection(names: list[str]) -> str:
    choice = st.selectbox(
        "Collection",
        [*names, None],
        key="upload_collection",
        format_func=lambda name: "+ New collection…" if name is None else name,
    )
    if choice is not None:
        return choice
    name = st.text_input("New collection name", key="new_collection", placeholder="e.g. field-reports").strip()
    if name in names:
        st.info("That collection exists already: the files will be added to it.")
    elif not name:
        st.caption("Name the new collection to enable ingest.")
    return name


def _save(upload: UploadedFile, folder: Path, number: int) -> Path:
    # Only a known extension is taken from the uploaded name; the rest of it never becomes a path.
    suffix = PurePath(upload.name).suffix.lower()
    path = folder / f"{number}{suffix if suffix in SUPPORTED_EXTENSIONS else ''}"
    upload.seek(0)
    with path.open("wb") as out:
        shutil.copyfileobj(upload, out, COPY_CHUNK)
    return path


def _ingest(service: SearchService, files: list[UploadedFile], collection: str) -> IngestReport | None:
    bar = st.progress(0.0, text=f"Receiving {len(files)} files…")

    def on_progress(event: Progress) -> None:
        current = f" · {md_inline(event.current)}" if event.current else ""
        bar.progress(
            min(event.files_done / max(event.files_total, 1), 1.0),
            text=f"{event.files_done}/{event.files_total} files · {event.stage}{current}",
        )

    with tempfile.TemporaryDirectory(prefix="babelsearch-upload-") as folder:
        pairs = [(_save(upload, Path(folder), n), upload.name) for n, upload in enumerate(files)]
        try:
            report = service.ingest_files(pairs, collection, progress=on_progress)
        except BabelSearchError as e:
            bar.empty()
            show_error(e, "Ingest stopped: ")
            return None
    bar.progress(1.0, text=f"Done: {len(files)}/{len(files)} files")
    return report


def _render_report(report: IngestReport) -> None:
    st.subheader(f"Report · {md_inline(report.collection)}")
    summary = report.summary()
    if report.failed:
        st.warning(summary, icon=":material/warning:")
    else:
        st.success(summary, icon=":material/check_circle:")
    rows = [(f.source_name, f.status, f.documents, f.duplicates, f.chunks, f.message) for f in report.files]
    escaped_table(pd.DataFrame(rows, columns=["File", "Status", "Documents", "Duplicates", "Passages", "Reason"]))
