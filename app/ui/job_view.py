"""One ingest job on screen: live progress while it runs, the per-file report when it ends, and Cancel."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import streamlit as st

from app.service import BabelSearchError, JobInfo, SearchService
from app.ui.text import md_inline
from app.ui.widgets import escaped_table, show_error

#: Seconds between two refreshes of a running job.
REFRESH_S = 1.5
#: Seconds a job may wait in the queue before the page asks whether a worker runs.
WORKER_HINT_S = 20
#: Longer reports go in a scrolling data frame.
TABLE_ROWS = 100
STATE_ICONS = {"queued": ":material/schedule:", "running": ":material/sync:", "done": ":material/check_circle:",
               "failed": ":material/error:", "cancelled": ":material/block:"}  # fmt: skip


def render_job(service: SearchService, job_id: int, key: str) -> None:
    """Show a job; while it is queued or running, the view refreshes itself (every user sees the same).

    Args:
        service: the search service.
        job_id: the job to show.
        key: prefix of the widget keys (the same job may be shown on two pages).
    """
    try:
        job = service.job(job_id)
    except BabelSearchError as e:
        show_error(e)
        return
    if job.finished:
        _show(service, job, key)
    else:
        _live(service, job_id, key)


@st.fragment(run_every=REFRESH_S)
def _live(service: SearchService, job_id: int, key: str) -> None:
    try:
        job = service.job(job_id)
    except BabelSearchError as e:
        show_error(e)
        return
    if job.finished:
        st.rerun()  # leave the refreshing view: the whole page shows the final report
    _show(service, job, key)


def _show(service: SearchService, job: JobInfo, key: str) -> None:
    st.markdown(f"{STATE_ICONS.get(job.state, '')} **Job {job.id}** · {job.state} · {md_inline(job.collection)}")
    share = job.bytes_done / job.bytes_total if job.bytes_total else float(job.finished)
    st.progress(min(share, 1.0), text=progress_text(job))
    if job.error:
        st.error(f"The job failed: {md_inline(job.error)}", icon=":material/error:")
    if job.state == "queued" and _age_s(job) > WORKER_HINT_S:
        st.info("No worker has taken this job yet. It starts when one runs: `babelsearch worker` "
                "(`make run` starts one beside the UI).", icon=":material/hourglass_empty:")  # fmt: skip
    if not job.finished:
        cancel = st.button("Cancel job", key=f"{key}_cancel_{job.id}", icon=":material/block:",
                           disabled=job.cancel_requested, help="Stops after the file being ingested now.")  # fmt: skip
        if cancel:
            try:
                service.cancel_job(job.id)
            except BabelSearchError as e:
                show_error(e)
            st.rerun()
    _report(job)


def _age_s(job: JobInfo) -> float:
    created = job.created_at if job.created_at.tzinfo else job.created_at.replace(tzinfo=UTC)  # SQLite: naive UTC
    return (datetime.now(UTC) - created).total_seconds()


def progress_text(job: JobInfo) -> str:
    """One line of progress: files, passages, throughput, ETA and the file being read (escaped)."""
    parts = [f"{job.files_done}/{job.files_total} files", f"{job.chunks_done:,} passages"]
    if job.state == "running":
        parts.append(f"{job.chunks_per_s:.1f} passages/s")
        if job.eta_s is not None:
            parts.append(f"about {timedelta(seconds=round(job.eta_s))} left")
        if job.current_file:
            parts.append(md_inline(job.current_file))
    if job.cancel_requested and not job.finished:
        parts.append("stopping after this file")
    return " · ".join(parts)


def _report(job: JobInfo) -> None:
    if not job.files:
        return
    counts = pd.Series([f.status for f in job.files]).value_counts()
    summary = ", ".join(f"{n} {status}" for status, n in counts.items())
    if "failed" in counts:
        st.warning(summary, icon=":material/warning:")
    elif job.state == "done":
        st.success(summary, icon=":material/check_circle:")
    else:
        st.caption(summary)
    rows = [(f.display_name, f.status, f.documents, f.duplicates, f.chunks, f"{f.seconds:.2f}", f.reason)
            for f in job.files]  # fmt: skip
    frame = pd.DataFrame(rows, columns=["File", "Status", "Documents", "Duplicates", "Passages", "Seconds", "Reason"])
    if len(frame) > TABLE_ROWS:
        st.dataframe(frame, hide_index=True)  # plain text cells: no Markdown, no HTML
    else:
        escaped_table(frame)
