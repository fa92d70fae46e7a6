"""Ingest as durable background jobs: a huey queue carries job ids, the store keeps jobs and their reports."""

from __future__ import annotations

from indexer.jobs.manager import JobManager
from indexer.jobs.queue import JobQueue, create_huey
from indexer.jobs.runner import run_job
from indexer.jobs.spool import Spool, spool_name
from indexer.jobs.worker import recover, run_worker

__all__ = ["JobManager", "JobQueue", "Spool", "create_huey", "recover", "run_job", "run_worker", "spool_name"]
