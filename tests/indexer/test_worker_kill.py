"""Real `babelsearch worker` processes: SIGKILLed mid-job and restarted, or two at once on PostgreSQL."""

from __future__ import annotations

import io
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from app.service import SearchService

ROOT = Path(__file__).resolve().parents[2]
N_FILES = 30
WORDS = (
    "river dam rain flood town bridge school market harvest coffee farmer train station night winter summer "
    "engineer wall crack water street boat rescue family doctor hospital road mountain valley forest fire "
    "village mayor council report storm wind power grid solar panel roof library book child teacher"
).split()


def _text(seed: int, words: int = 1500) -> str:
    rng = random.Random(seed)
    sentences = [" ".join(rng.choice(WORDS) for _ in range(12)).capitalize() + "." for _ in range(words // 12)]
    return f"Report number {seed}. " + " ".join(sentences)


def _worker(settings, log: Path, extra_env: dict[str, str] | None = None) -> subprocess.Popen:
    env = {**os.environ, **(extra_env or {}), "BABELSEARCH_HOME": str(settings.home_path),
           "BABELSEARCH_MODEL": settings.model,
           "BABELSEARCH_CHUNK_TOKENS": str(settings.chunk_tokens), "BABELSEARCH_THREADS": "1",
           "BABELSEARCH_EMBED_BACKEND": "torch",  # the runtime of the test's own embedder
           "BABELSEARCH_CHUNK_OVERLAP": str(settings.chunk_overlap), "PYTHONPATH": str(ROOT)}  # fmt: skip
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "-m", "app.cli", "-v", "worker"], cwd=ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT)  # fmt: skip


def _wait(what: str, condition: Callable[[], bool], proc: subprocess.Popen, log: Path, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        if proc.poll() is not None:
            pytest.fail(f"the worker exited with {proc.returncode} before {what}:\n{log.read_text()[-3000:]}")
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}:\n{log.read_text()[-3000:]}")


def _thread_nice(pid: int) -> list[int]:
    # Field 19 of /proc/<pid>/task/<tid>/stat is the thread's nice value (the name before it may hold spaces).
    return [int(stat.read_text().rpartition(")")[2].split()[16]) for stat in Path(f"/proc/{pid}/task").glob("*/stat")]


def _kill(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)


def test_sigkilled_worker_leaves_a_job_that_the_next_worker_finishes(
    tiny_service: SearchService, tmp_path: Path
) -> None:
    files = [(f"report-{n:02d}.txt", _text(n).encode()) for n in range(N_FILES)]
    job_id = tiny_service.enqueue_upload([(name, io.BytesIO(data)) for name, data in files], "reports")
    log = tmp_path / "worker.log"

    def job():  # noqa: ANN202
        return tiny_service.job(job_id)

    # Killed once while the first batch is being embedded (or just committed), once half way through.
    for point, reached in (("first progress", lambda: job().chunks_done > 0),
                           ("half the files", lambda: job().files_done >= N_FILES // 2)):  # fmt: skip
        proc = _worker(tiny_service.settings, log)
        _wait(point, reached, proc, log)
        # Every thread of the worker, the model's too, runs below the UI's priority (worker_nice).
        niceness = _thread_nice(proc.pid)
        assert min(niceness) >= max(tiny_service.settings.worker_nice, os.nice(0)) > 0, niceness
        _kill(proc)
        assert job().state == "running", f"killed at {point}, the job shows {job().state}"
        assert job().files_done < N_FILES, "the job finished before the kill: make the files bigger"

    proc = _worker(tiny_service.settings, log)
    try:
        _wait("the job to end", lambda: job().finished, proc, log)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    final = job()
    assert final.state == "done" and final.attempts == 3, (final.state, final.attempts, final.error)
    assert [f.status for f in final.files] == ["added"] * N_FILES
    assert sum(f.documents for f in final.files) == N_FILES
    # Every document exactly once, every chunk with its vector, the report adding up.
    assert tiny_service.count_documents("reports") == N_FILES
    assert {d.source_name for d in tiny_service.documents("reports", limit=100)} == {name for name, _ in files}
    stats = tiny_service.stats()
    assert final.chunks_done == sum(f.chunks for f in final.files) == stats.chunks
    assert tiny_service.indexer.vectors.index.count() == stats.chunks
    fresh = SearchService(tiny_service.settings, tiny_service.indexer.embedder)
    assert fresh.indexer.vectors.index.count() == stats.chunks
    fresh.close()
    assert "resuming from its first uncommitted file" in log.read_text()


@pytest.mark.parametrize("queue", ["sqlite", "redis"])
def test_two_worker_processes_on_postgresql_ingest_every_file_exactly_once(
    tiny_settings, tiny_embedder, postgres_url: str, tmp_path: Path, queue: str, request: pytest.FixtureRequest
) -> None:
    import dataclasses

    # The SQLite queue in the shared data directory (one machine), or a Redis server (several machines).
    queue_url = request.getfixturevalue("redis_url") if queue == "redis" else ""
    settings = dataclasses.replace(tiny_settings, store_url=postgres_url, queue_url=queue_url)
    service = SearchService(settings, tiny_embedder)
    jobs = [service.enqueue_upload([(f"j{j}-{n}.txt", io.BytesIO(_text(100 * j + n, 300).encode()))
                                    for n in range(6)], "shared") for j in range(4)]  # fmt: skip
    if queue == "redis":
        from indexer.jobs.queue import create_huey

        assert create_huey(settings).pending_count() == 4, "the jobs did not reach the Redis queue"
        assert not (settings.home_path / "queue.db").exists()
    log = tmp_path / "workers.log"
    env_store = {"BABELSEARCH_STORE_URL": postgres_url, "BABELSEARCH_QUEUE_URL": queue_url}
    procs = [_worker(settings, log, env_store) for _ in range(2)]
    try:
        for proc in procs:
            _wait("every job to end", lambda: all(service.job(j).finished for j in jobs), proc, log)
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=30)
    workers = {service.job(j).worker for j in jobs}
    assert [service.job(j).state for j in jobs] == ["done"] * 4
    assert all(f.status == "added" for j in jobs for f in service.job(j).files)
    assert service.count_documents("shared") == 24
    assert len({d.source_name for d in service.documents("shared", limit=100)}) == 24
    stats = service.stats()
    assert sum(service.job(j).chunks_done for j in jobs) == stats.chunks == service.indexer.vectors.index.count()
    # Both workers re-enqueue the waiting jobs when they start: the duplicate messages claim nothing.
    assert [service.job(j).attempts for j in jobs] == [1] * 4, workers
    service.close()
