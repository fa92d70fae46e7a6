"""Durable ingest jobs in the SQL store: states, per-file results and progress (the queue only carries ids)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from indexer.errors import JobNotFoundError, StoreError
from indexer.store.records import JobFileInfo, JobInfo
from indexer.store.schema import DocumentRow, JobFileRow, JobRow, utcnow
from indexer.store.sql import SqlStore

#: Final states; a job in one of them never changes again.
FINAL = ("done", "failed", "cancelled")


@dataclass
class FileOutcome:
    """What the pipeline did with one file of a job, to be stored on its row."""

    status: str
    reason: str
    documents: int
    duplicates: int
    chunks: int
    seconds: float


class JobStore:
    """Jobs and their files in the same database as the documents (SQLite or PostgreSQL).

    Args:
        store: the metadata store whose engine holds the ``jobs`` and ``job_files`` tables.
    """

    def __init__(self, store: SqlStore):
        self.store = store

    def _session(self) -> Session:
        return self.store.session()

    # --- create ---------------------------------------------------------------------------------

    def create(self, collection: str, options: dict) -> int:
        """Create a job that workers do not see yet (see ``add_files`` and ``mark_enqueued``).

        Returns:
            The job id.
        """
        with self._session() as s, s.begin():
            row = JobRow(collection=collection, options=dict(options))
            s.add(row)
            s.flush()
            return row.id

    def add_files(self, job_id: int, files: list[tuple[str, str, int]]) -> None:
        """Record the spooled files of a job.

        Args:
            job_id: the job.
            files: (display name, spool name, size in bytes), in processing order.
        """
        with self._session() as s, s.begin():
            job = self._row(s, job_id)
            start = len(job.files)
            for n, (display, spooled, size) in enumerate(files, start=start):
                s.add(JobFileRow(job_id=job_id, ordinal=n, display_name=display, spool_name=spooled, size=size))
            job.files_total = start + len(files)
            job.bytes_total += sum(size for _, _, size in files)

    def mark_enqueued(self, job_id: int) -> None:
        """Declare the job's files complete: from now on a worker may take it."""
        with self._session() as s, s.begin():
            self._row(s, job_id).enqueued_at = utcnow()

    # --- run ------------------------------------------------------------------------------------

    def claim(self, job_id: int, worker: str) -> bool:
        """Atomically take a queued job for ``worker`` (False if it is not queued, not ready or taken)."""
        now = time.time()
        stmt = (update(JobRow)
                .where(JobRow.id == job_id, JobRow.state == "queued", JobRow.enqueued_at.is_not(None),
                       JobRow.cancel_requested.is_(False))
                .values(state="running", worker=worker, heartbeat=now, attempts=JobRow.attempts + 1,
                        started_at=func.coalesce(JobRow.started_at, utcnow())))  # fmt: skip
        with self._session() as s, s.begin():
            return s.execute(stmt).rowcount == 1

    def release(self, job_id: int, worker: str) -> bool:
        """Put a running job of a dead ``worker`` back in the queued state (False if someone else has it)."""
        stmt = (update(JobRow).where(JobRow.id == job_id, JobRow.state == "running", JobRow.worker == worker)
                .values(state="queued", worker="", current_file=""))  # fmt: skip
        with self._session() as s, s.begin():
            return s.execute(stmt).rowcount == 1

    def beat(self, job_id: int, worker: str) -> bool:
        """Renew the worker's lease; False when the job is no longer this worker's."""
        stmt = (update(JobRow).where(JobRow.id == job_id, JobRow.state == "running", JobRow.worker == worker)
                .values(heartbeat=time.time()))  # fmt: skip
        with self._session() as s, s.begin():
            return s.execute(stmt).rowcount == 1

    def progress(self, job_id: int, current: str, chunks_done: int, chunks_per_s: float, eta_s: float | None) -> None:
        """Store the live progress of a running job (files and bytes advance in ``file_done``)."""
        stmt = (update(JobRow).where(JobRow.id == job_id, JobRow.state == "running")
                .values(current_file=current, chunks_done=chunks_done, chunks_per_s=chunks_per_s, eta_s=eta_s,
                        heartbeat=time.time()))  # fmt: skip
        with self._session() as s, s.begin():
            s.execute(stmt)

    def file_done(self, job_id: int, ordinal: int, outcome: FileOutcome) -> None:
        """Record one committed file and advance the job's counters, in one transaction."""
        with self._session() as s, s.begin():
            row = s.scalar(select(JobFileRow).where(JobFileRow.job_id == job_id, JobFileRow.ordinal == ordinal))
            if row is None:
                raise JobNotFoundError(f"job {job_id} has no file number {ordinal}")
            if row.status != "pending":
                return  # already recorded by an earlier attempt
            for name, value in vars(outcome).items():
                setattr(row, name, value)
            job = self._row(s, job_id)
            job.files_done += 1
            job.bytes_done += row.size
            job.chunks_done = int(
                s.scalar(select(func.coalesce(func.sum(JobFileRow.chunks), 0)).where(JobFileRow.job_id == job_id))
            )

    def finish(self, job_id: int, worker: str, state: str, error: str = "") -> bool:
        """End a running job of ``worker`` in a final state (False if the job was taken from it)."""
        if state not in FINAL:
            raise ValueError(f"a job ends done, failed or cancelled, not {state!r}")
        stmt = (update(JobRow).where(JobRow.id == job_id, JobRow.state == "running", JobRow.worker == worker)
                .values(state=state, error=error, finished_at=utcnow(), current_file="", eta_s=None))  # fmt: skip
        with self._session() as s, s.begin():
            return s.execute(stmt).rowcount == 1

    def fail_unready(self, job_id: int, error: str) -> None:
        """Fail a job whose files could not all be spooled (no worker has seen it)."""
        with self._session() as s, s.begin():
            job = self._row(s, job_id)
            job.state, job.error, job.finished_at = "failed", error, utcnow()

    # --- cancel ---------------------------------------------------------------------------------

    def cancel(self, job_id: int) -> JobInfo:
        """Cancel a queued job now, or ask a running one to stop after the file it is on.

        Raises:
            JobNotFoundError: if there is no such job.
            StoreError: if the job has already ended.
        """
        with self._session() as s, s.begin():
            job = self._row(s, job_id)
            if job.state in FINAL:
                raise StoreError(f"job {job_id} has already ended ({job.state}); nothing to cancel")
            job.cancel_requested = True
            if job.state == "queued":
                job.state, job.finished_at = "cancelled", utcnow()
        return self.get(job_id)

    def cancel_requested(self, job_id: int) -> bool:
        """Whether someone asked the job to stop."""
        with self._session() as s:
            return bool(s.scalar(select(JobRow.cancel_requested).where(JobRow.id == job_id)))

    # --- read -----------------------------------------------------------------------------------

    def get(self, job_id: int) -> JobInfo:
        """One job with its files.

        Raises:
            JobNotFoundError: if there is no such job.
        """
        with self._session() as s:
            job = self._row(s, job_id)
            return _info(job, [_file_info(f) for f in job.files])

    def recent(self, limit: int = 50, states: tuple[str, ...] | None = None) -> list[JobInfo]:
        """The newest jobs first, without their files.

        Args:
            limit: most jobs returned.
            states: only jobs in these states.
        """
        stmt = select(JobRow).order_by(JobRow.id.desc()).limit(limit)
        if states is not None:
            stmt = stmt.where(JobRow.state.in_(states))
        with self._session() as s:
            return [_info(row, []) for row in s.scalars(stmt)]

    def documents_since(self, document_ids: list[int], job_id: int, source_name: str) -> list[tuple[int, int]]:
        """Which of these documents an earlier attempt of the job committed from the file ``source_name``.

        A resumed job finds them as duplicates; created after the job first started, under the same file
        name, they are its own.

        Returns:
            (document id, chunk count) pairs.
        """
        if not document_ids:
            return []
        with self._session() as s:
            started = s.scalar(select(JobRow.started_at).where(JobRow.id == job_id))
            if started is None:
                return []
            rows = s.execute(select(DocumentRow.id, DocumentRow.n_chunks, DocumentRow.created_at).where(
                DocumentRow.id.in_(document_ids), DocumentRow.source_name == source_name)).all()  # fmt: skip
        return [(doc_id, n) for doc_id, n, created in rows if _aware(created) >= _aware(started)]

    def _row(self, s: Session, job_id: int) -> JobRow:
        try:
            job = s.get(JobRow, job_id)
        except SQLAlchemyError as e:
            raise StoreError(f"cannot read job {job_id}: {e}") from e
        if job is None:
            raise JobNotFoundError(f"no job with id {job_id}; `babelsearch jobs` lists them")
        return job


def _aware(when: datetime) -> datetime:
    # SQLite hands datetimes back naive; they were stored in UTC.
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _file_info(row: JobFileRow) -> JobFileInfo:
    return JobFileInfo(row.ordinal, row.display_name, row.spool_name, row.size, row.status, row.reason,
                       row.documents, row.duplicates, row.chunks, row.seconds)  # fmt: skip


def _info(row: JobRow, files: list[JobFileInfo]) -> JobInfo:
    return JobInfo(row.id, row.state, row.collection, dict(row.options or {}), row.created_at, row.started_at,
                   row.finished_at, row.worker, row.attempts, row.cancel_requested, row.error, row.files_total,
                   row.files_done, row.bytes_total, row.bytes_done, row.chunks_done, row.current_file,
                   row.chunks_per_s, row.eta_s, row.heartbeat, files)  # fmt: skip
