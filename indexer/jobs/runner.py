"""Run one ingest job: claim it, ingest its pending files, record each file as it commits, beat, stop on cancel."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

from indexer.jobs.spool import Spool
from indexer.pipeline import Indexer
from indexer.report import FileResult, Progress
from indexer.store.jobs import FileOutcome, JobStore
from indexer.store.records import JobFileInfo, JobInfo

logger = logging.getLogger(__name__)

#: Seconds between heartbeats; a running job silent for LEASE_S seconds is taken to be orphaned.
BEAT_S = 5.0
LEASE_S = 60.0
#: Least seconds between two progress writes.
PROGRESS_S = 0.5


class _Heartbeat(threading.Thread):
    """Renews the worker's lease on a job until stopped; notices when the job was taken away."""

    def __init__(self, jobs: JobStore, job_id: int, worker: str):
        super().__init__(name=f"heartbeat-{job_id}", daemon=True)
        self.jobs, self.job_id, self.worker = jobs, job_id, worker
        self.lost = False
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(BEAT_S):
            try:
                self.lost = not self.jobs.beat(self.job_id, self.worker)
            except Exception as e:  # a busy database must not end the job; the next beat retries
                logger.warning("job %d: heartbeat failed: %s", self.job_id, e)
            if self.lost:
                return

    def stop(self) -> None:
        self._stop_event.set()


@dataclass
class _Meter:
    """Throughput and ETA of this attempt (bytes give the ETA: chunk totals are unknown in advance)."""

    job: JobInfo
    t0: float = field(default_factory=time.monotonic)
    bytes_done: int = 0
    chunks_before: int = 0
    last_write: float = 0.0

    def rate(self, chunks_now: int) -> tuple[float, float | None]:
        elapsed = max(time.monotonic() - self.t0, 1e-6)
        remaining = self.job.bytes_total - self.job.bytes_done - self.bytes_done
        eta = elapsed * remaining / self.bytes_done if self.bytes_done else None
        return round((chunks_now - self.chunks_before) / elapsed, 2), None if eta is None else round(eta, 1)


def run_job(job_id: int, indexer: Indexer, jobs: JobStore, spool: Spool, worker: str) -> str | None:
    """Run a job if it can be claimed, from its first file not yet committed.

    Args:
        job_id: the job.
        indexer: the pipeline to ingest with.
        jobs: the job store.
        spool: where the job's files are.
        worker: this worker's name (host:pid).

    Returns:
        The final state, or None when the job was not claimable (taken, cancelled, done) or was taken away.
    """
    if not jobs.claim(job_id, worker):
        logger.info("job %d: not claimable (taken, finished or cancelled)", job_id)
        return None
    beat = _Heartbeat(jobs, job_id, worker)
    beat.start()
    try:
        state, error = _ingest(jobs.get(job_id), indexer, jobs, spool, beat), ""
    except Exception as e:  # the job fails with the reason; the worker goes on with the next job
        logger.exception("job %d failed", job_id)
        state, error = "failed", f"{e.__class__.__name__}: {e}"
    finally:
        beat.stop()
    if state is None or not jobs.finish(job_id, worker, state, error):
        logger.warning("job %d was taken over by another worker; leaving it to that one", job_id)
        return None
    if state in ("done", "cancelled"):
        spool.remove(job_id)
    logger.info("job %d: %s", job_id, state)
    return state


def _ingest(job: JobInfo, indexer: Indexer, jobs: JobStore, spool: Spool, beat: _Heartbeat) -> str | None:
    pending = [f for f in job.files if f.status == "pending"]
    folder = spool.folder(job.id)
    meter = _Meter(job, chunks_before=job.chunks_done)
    chunks = [job.chunks_done]

    def on_file(n: int, result: FileResult) -> None:
        entry = pending[n]
        if job.attempts > 1 and result.duplicate_ids:
            _own_duplicates(jobs, job.id, entry, result)
        jobs.file_done(job.id, entry.ordinal, _outcome(result))
        meter.bytes_done += entry.size
        chunks[0] += result.chunks

    def on_progress(event: Progress) -> None:
        now = time.monotonic()
        if now - meter.last_write >= PROGRESS_S:
            meter.last_write = now
            done = max(chunks[0], job.chunks_done + event.chunks_done)
            jobs.progress(job.id, event.current, done, *meter.rate(done))

    def stop() -> bool:
        return beat.lost or jobs.cancel_requested(job.id)

    files = [(folder / f.spool_name, f.display_name) for f in pending]
    report = indexer.ingest_files(files, job.collection, on_progress, on_file=on_file, stop=stop)
    if beat.lost:
        return None
    return "cancelled" if report.stopped else "done"


def _own_duplicates(jobs: JobStore, job_id: int, entry: JobFileInfo, result: FileResult) -> None:
    # A resumed job meets the documents its killed attempt committed as duplicates: they are its own.
    own = jobs.documents_since(result.duplicate_ids, job_id, entry.display_name)
    if not own:
        return
    result.documents += len(own)
    result.duplicates -= len(own)
    result.chunks += sum(n for _, n in own)
    result.document_ids += [doc_id for doc_id, _ in own]
    if result.status == "duplicate" or (result.status == "failed" and not result.message):
        result.status = "added"


def _outcome(result: FileResult) -> FileOutcome:
    return FileOutcome(result.status, result.message, result.documents, result.duplicates, result.chunks,
                       round(result.seconds, 3))  # fmt: skip
