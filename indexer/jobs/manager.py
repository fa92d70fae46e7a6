"""Enqueue, list, show and cancel ingest jobs: what the service, the CLI and the UI ask of the job system."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, BinaryIO

from indexer.config import Settings
from indexer.errors import BabelSearchError
from indexer.jobs.queue import JobQueue
from indexer.jobs.spool import Spool
from indexer.loaders import iter_files
from indexer.store.jobs import JobStore
from indexer.store.records import JobInfo
from indexer.store.sql import SqlStore

logger = logging.getLogger(__name__)

#: Spools one file: (job id, number, display name, source) -> (spool name, size).
_Writer = Callable[[int, int, str, Any], tuple[str, int]]


class JobManager:
    """The producer side of the job system; workers run what it enqueues.

    Args:
        settings: resolved settings (data directory, queue URL).
        store: the metadata store that holds the jobs tables.
    """

    def __init__(self, settings: Settings, store: SqlStore):
        self.settings = settings
        self.jobs = JobStore(store)
        self.spool = Spool(settings.home_path / "spool")
        self._queue: JobQueue | None = None

    @property
    def queue(self) -> JobQueue:
        """The queue, opened on first use (listing jobs needs none)."""
        if self._queue is None:
            self._queue = JobQueue(self.settings)
        return self._queue

    def enqueue_streams(
        self, collection: str, files: Iterable[tuple[str, BinaryIO]], options: dict | None = None
    ) -> int:
        """Spool uploaded files (streamed, never held whole in memory) and enqueue their job.

        Args:
            collection: the target collection (created when the job runs).
            files: (original file name, readable binary stream) pairs; names are kept for display only.
            options: recorded with the job.

        Returns:
            The job id.
        """
        return self._enqueue(collection, options, lambda job_id, n, name, src: self.spool.write(job_id, n, name, src),
                             files)  # fmt: skip

    def enqueue_paths(self, collection: str, paths: Iterable[Path], options: dict | None = None) -> int:
        """Copy files and folders (walked as ``babelsearch ingest`` does) into the spool and enqueue them.

        Returns:
            The job id.

        Raises:
            BabelSearchError: if a path does not exist or nothing is left to ingest.
        """
        paths = [Path(p) for p in paths]
        missing = [str(p) for p in paths if not p.exists()]
        if missing:
            raise BabelSearchError(f"no such file or folder: {', '.join(missing)}")
        found = [(p.name, p) for p in iter_files(paths)]
        if not found:
            raise BabelSearchError(f"no supported files in {', '.join(map(str, paths))}")
        return self._enqueue(collection, options, lambda job_id, n, _name, path: self.spool.copy(job_id, n, path),
                             found)  # fmt: skip

    def _enqueue(self, collection: str, options: dict | None, write: _Writer, files: Iterable[tuple[str, Any]]) -> int:
        collection = collection.strip()
        if not collection or len(collection) > 200:
            raise BabelSearchError("a collection name must have 1 to 200 characters")
        job_id = self.jobs.create(collection, options or {})
        try:
            rows = []
            for n, (name, source) in enumerate(files):
                spooled, size = write(job_id, n, name, source)
                rows.append((name, spooled, size))
            if not rows:
                raise BabelSearchError("no files to ingest")
            self.jobs.add_files(job_id, rows)
            self.jobs.mark_enqueued(job_id)
        except BaseException as e:
            self.jobs.fail_unready(job_id, f"the files could not be received: {e}")
            self.spool.remove(job_id)
            raise
        self.queue.put(job_id)
        logger.info("job %d: %d files for %s enqueued", job_id, len(rows), collection)
        return job_id

    def recent(self, limit: int = 50) -> list[JobInfo]:
        """The newest jobs first (without their files)."""
        return self.jobs.recent(limit)

    def get(self, job_id: int) -> JobInfo:
        """One job with its per-file report."""
        return self.jobs.get(job_id)

    def cancel(self, job_id: int) -> JobInfo:
        """Cancel a queued job, or stop a running one after its current file (see ``JobStore.cancel``)."""
        job = self.jobs.cancel(job_id)
        if job.state == "cancelled":
            self.spool.remove(job_id)
        return job
