"""The Upload page: many files into an existing or new collection, ingested by a background job."""

from __future__ import annotations

from typing import BinaryIO

import streamlit as st

from app.service import SUPPORTED_EXTENSIONS, BabelSearchError, SearchService
from app.ui.job_view import render_job
from app.ui.nav import link
from app.ui.widgets import show_error

EXTENSIONS = sorted(ext.lstrip(".") for ext in SUPPORTED_EXTENSIONS)


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
    # A new key after each job empties the uploader, so the server lets go of the uploaded bytes.
    files = st.file_uploader("Documents", type=EXTENSIONS, accept_multiple_files=True,
                             key=f"upload_files_{st.session_state.get('upload_round', 0)}")  # fmt: skip
    st.caption(
        f"Accepted: {', '.join(EXTENSIONS)} · up to {limit_mb} MB per file. The files are ingested in the "
        "background: you can leave this page, close the tab or keep searching, and find the report under Jobs. "
        "For whole folders use `babelsearch ingest --background`."
    )
    if st.button("Ingest", key="ingest", type="primary", icon=":material/input:", disabled=not (files and collection)):
        _enqueue(service, files, collection)
    job_id = _current_job()
    if job_id is not None:
        st.subheader("Progress")
        render_job(service, job_id, key="upload")
        link("jobs", "All jobs")


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
    # One slot whatever it holds: the uploader below keeps its place in the page, so the rerun that commits the
    # name does not remount it and drop files that are still uploading.
    hint = st.empty()
    if name in names:
        hint.info("That collection exists already: the files will be added to it.")
    elif not name:
        hint.caption("Name the new collection to enable ingest.")
    return name


def _enqueue(service: SearchService, files: list, collection: str) -> None:
    with st.spinner(f"Receiving {len(files)} files…"):
        try:
            job_id = service.enqueue_upload(((upload.name, _rewound(upload)) for upload in files), collection)
        except BabelSearchError as e:
            show_error(e, "The upload was not queued: ")
            return
    # The job id lives in the URL too: a reload or a shared link shows the same job.
    st.query_params["job"] = str(job_id)
    st.session_state["upload_job"] = job_id
    st.session_state["upload_round"] = st.session_state.get("upload_round", 0) + 1
    st.rerun()


def _rewound(upload: BinaryIO) -> BinaryIO:
    # An UploadedFile, read from its start.
    upload.seek(0)
    return upload


def _current_job() -> int | None:
    # The URL survives a reload; the session survives moving between pages.
    raw = st.query_params.get("job", "")
    job_id = int(raw) if raw.isdigit() else st.session_state.get("upload_job")
    if job_id is not None and not raw:
        st.query_params["job"] = str(job_id)
    return job_id
