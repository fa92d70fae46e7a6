"""The job queue on huey: SQLite in the data directory by default, Redis when several machines share it.

The queue carries job ids only; the job itself (files, state, per-file results) lives in the store, so
a message lost with a killed worker loses nothing: the job is released and enqueued again.
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Callable

from huey import Huey, SqliteHuey

from indexer.config import Settings
from indexer.errors import QueueError

logger = logging.getLogger(__name__)

QUEUE_NAME = "babelsearch"
TASK_NAME = "babelsearch.ingest_job"


def create_huey(settings: Settings) -> Huey:
    """The huey instance for ``settings.queue_url``.

    Args:
        settings: resolved settings; an empty ``queue_url`` means ``<home>/queue.db``.

    Returns:
        A SqliteHuey or RedisHuey, results not stored (the job store keeps them).

    Raises:
        QueueError: for an unknown URL scheme, or Redis without the redis package.
    """
    url = settings.queue_url.strip()
    if not url:
        settings.home_path.mkdir(parents=True, exist_ok=True)
        return SqliteHuey(QUEUE_NAME, filename=str(settings.home_path / "queue.db"), results=False, timeout=30)
    if url.startswith(("redis://", "rediss://", "unix://")):
        # huey imports redis lazily and fails late: check first, with the fix in the message.
        if importlib.util.find_spec("redis") is None:
            raise QueueError(f"queue_url {url!r} needs the redis package - pip install redis")
        from huey import RedisHuey

        return RedisHuey(QUEUE_NAME, url=url, results=False)
    raise QueueError(f"queue_url {url!r} is not supported: leave it empty (SQLite in the data directory) "
                     "or give redis://host:port/db")  # fmt: skip


class JobQueue:
    """Puts job ids on the queue and, in a worker, hands each one to a handler.

    Args:
        settings: resolved settings.
        handler: called with each job id taken from the queue (workers only).
    """

    def __init__(self, settings: Settings, handler: Callable[[int], None] | None = None):
        self.huey = create_huey(settings)
        self._handler = handler

        def ingest_job(job_id: int) -> None:
            if self._handler is None:
                raise QueueError("this process only enqueues jobs; run `babelsearch worker` to process them")
            self._handler(int(job_id))

        self._task = self.huey.task(name=TASK_NAME)(ingest_job)

    def put(self, job_id: int) -> None:
        """Enqueue a job id (a duplicate is harmless: only one worker can claim the job)."""
        self._task(int(job_id))

    def pending(self) -> int:
        """Messages waiting in the queue."""
        return self.huey.pending_count()

    def consumer(self, workers: int):  # noqa: ANN201 - huey.consumer.Consumer
        """A huey consumer with ``workers`` threads, for the worker process."""
        return self.huey.create_consumer(workers=workers, worker_type="thread", periodic=False,
                                         check_worker_health=True)  # fmt: skip
