"""The Jobs page: every user's ingest jobs with state, progress and throughput; one job's report; cancel."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app.service import BabelSearchError, JobInfo, SearchService
from app.ui.job_view import REFRESH_S, render_job
from app.ui.widgets import show_error

LIMIT = 200


def render_jobs(service: SearchService) -> None:
    """Render the Jobs page.

    Args:
        service: the search service.
    """
    st.title("Jobs")
    st.caption("Uploads are ingested by background workers (`babelsearch worker`); every user sees every job.")
    _table(service)
    try:
        jobs = service.jobs(LIMIT)
    except BabelSearchError as e:
        show_error(e)
        return
    if not jobs:
        return
    chosen = st.selectbox("Show a job", [j.id for j in jobs], key="job_detail", format_func=lambda i: f"Job {i}")
    render_job(service, chosen, key="jobs")


@st.fragment(run_every=REFRESH_S * 2)
def _table(service: SearchService) -> None:
    try:
        jobs = service.jobs(LIMIT)
    except BabelSearchError as e:
        show_error(e)
        return
    if not jobs:
        st.info("No jobs yet: upload files on the Upload page, or run `babelsearch ingest --background`.")
        return
    # st.dataframe shows cells as plain text: collection names are never read as Markdown or HTML.
    st.dataframe(pd.DataFrame([_row(j) for j in jobs]), hide_index=True, key="jobs_table")


def _row(job: JobInfo) -> dict:
    return {
        "Job": job.id,
        "State": job.state + (" (stopping)" if job.cancel_requested and not job.finished else ""),
        "Collection": job.collection,
        "Files": f"{job.files_done}/{job.files_total}",
        "Passages": job.chunks_done,
        "Passages/s": round(job.chunks_per_s, 1) if job.state == "running" else None,
        "Created": job.created_at.strftime("%Y-%m-%d %H:%M"),
        "Finished": job.finished_at.strftime("%Y-%m-%d %H:%M") if job.finished_at else "",
    }
