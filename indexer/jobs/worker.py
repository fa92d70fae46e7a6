"""The worker process: a huey consumer whose threads run ingest jobs, plus recovery of orphaned jobs."""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
from pathlib import Path

from indexer.config import Settings
from indexer.embedder import Embedder
from indexer.jobs.queue import JobQueue
from indexer.jobs.runner import LEASE_S, run_job
from indexer.jobs.spool import Spool
from indexer.pipeline import Indexer
from indexer.store.jobs import JobStore
from indexer.store.records import JobInfo

logger = logging.getLogger(__name__)


def worker_name() -> str:
    """This process's name on jobs: host and process id."""
    return f"{socket.gethostname()}:{os.getpid()}"


def is_orphaned(job: JobInfo, now: float | None = None) -> bool:
    """Whether a running job's worker is gone: its process is dead on this host, or its lease ran out.

    Args:
        job: a running job.
        now: the time (epoch seconds), for tests.
    """
    host, _, pid = job.worker.rpartition(":")
    if host == socket.gethostname() and pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
        return True
    return (now or time.time()) - job.heartbeat > LEASE_S


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def recover(jobs: JobStore, queue: JobQueue, requeue_waiting: bool) -> list[int]:
    """Release the running jobs of dead workers and enqueue them again.

    Args:
        jobs: the job store.
        queue: the queue to put them on.
        requeue_waiting: also enqueue every queued job again (at worker start: a message may have been lost
            with a killed worker or a wiped queue file; a duplicate is harmless).

    Returns:
        The ids enqueued.
    """
    out = []
    for job in jobs.recent(limit=10_000, states=("queued", "running")):
        if job.state == "running" and is_orphaned(job) and jobs.release(job.id, job.worker):
            logger.warning("job %d: worker %s is gone; resuming from its first uncommitted file", job.id, job.worker)
            out.append(job.id)
        elif job.state == "queued" and requeue_waiting and job.files_total:
            out.append(job.id)
    for job_id in sorted(out):
        queue.put(job_id)
    return sorted(out)


def run_worker(settings: Settings, concurrency: int = 1, embedder: Embedder | None = None) -> None:
    """Process jobs until SIGINT (finish the running jobs first) or SIGTERM (stop now; jobs resume later).

    Args:
        settings: resolved settings (store, queue, model).
        concurrency: jobs run at once, each in its own thread (one model and vector index shared).
        embedder: an embedder to use instead of loading ``settings.model``.
    """
    if concurrency < 1:
        raise ValueError(f"concurrency must be at least 1, not {concurrency}")
    lower_priority(settings.worker_nice)
    indexer = Indexer(settings, embedder)
    jobs = JobStore(indexer.store)
    spool = Spool(settings.home_path / "spool")
    name = worker_name()
    queue = JobQueue(settings, handler=lambda job_id: run_job(job_id, indexer, jobs, spool, name))
    indexer.vectors  # load the model and the index before taking jobs
    recover(jobs, queue, requeue_waiting=True)
    _start_watchdog(jobs, queue)
    logger.info("worker %s: %d thread(s) on %s", name, concurrency, settings.queue_url or "the SQLite queue")
    try:
        queue.consumer(concurrency).run()
    finally:
        indexer.close()


def lower_priority(nice: int) -> int:
    """Give this process a CPU priority of at least ``nice``, its running threads and the ones it starts later.

    Ingest is throughput work: on a machine shared with the UI, searches get the cores first. A process already
    started nicer keeps its priority (a worker never raises its own).

    Args:
        nice: the nice value wanted (0 leaves the priority as it is).

    Returns:
        The process's nice value afterwards.
    """
    if nice > os.getpriority(os.PRIO_PROCESS, 0):
        # Linux keeps a nice value per thread: set it on every thread there is (new ones inherit it).
        tasks = Path("/proc/self/task")
        for tid in [int(t.name) for t in tasks.iterdir()] if tasks.is_dir() else [0]:
            with contextlib.suppress(ProcessLookupError):
                os.setpriority(os.PRIO_PROCESS, tid, max(nice, os.getpriority(os.PRIO_PROCESS, tid)))
        logger.info("worker: CPU priority lowered to nice %d, so searches on this machine come first", nice)
    return os.getpriority(os.PRIO_PROCESS, 0)


def _start_watchdog(jobs: JobStore, queue: JobQueue) -> None:
    # Jobs orphaned by a worker on another machine are picked up once their lease runs out.
    def loop() -> None:
        while True:
            time.sleep(LEASE_S / 2)
            try:
                recover(jobs, queue, requeue_waiting=False)
            except Exception as e:  # keep watching; the database may be busy
                logger.warning("job recovery failed: %s", e)

    threading.Thread(target=loop, name="job-recovery", daemon=True).start()
