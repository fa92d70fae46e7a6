"""Ingest jobs in one process: spool, queue, run, per-file report, cancel, resume after an interrupted attempt."""

from __future__ import annotations

import io
import os
import socket
import time

import pytest

from app.service import SearchService
from indexer.errors import JobNotFoundError, StoreError
from indexer.jobs import JobQueue, recover, run_job
from indexer.jobs.worker import is_orphaned
from indexer.store.jobs import JobStore

TEXTS = [
    "The river dam failed after three days of heavy rain. Engineers had warned about cracks in the wall.",
    "Coffee farmers in the highlands lose their harvest to a fungus as temperatures rise every year.",
    "Der Staudamm brach nach drei Tagen Starkregen. Ingenieure hatten vor Rissen in der Mauer gewarnt.",
    "La ville a installé des panneaux solaires sur le toit de chaque école cette année.",
    "El tren nocturno entre las dos capitales vuelve a circular después de diez años.",
]


def _streams(names: list[str], texts: list[str]) -> list[tuple[str, io.BytesIO]]:
    return [(name, io.BytesIO(text.encode())) for name, text in zip(names, texts)]


def _run(service: SearchService, job_id: int, worker: str = "test-host:1") -> str | None:
    return run_job(job_id, service.indexer, JobStore(service.store), service.job_manager.spool, worker)


def test_upload_is_spooled_under_generated_names_and_reported_per_file(tiny_service: SearchService) -> None:
    names = ["../../evil name.TXT", "notes.md", "scan.pdf"]
    job_id = tiny_service.enqueue_upload(_streams(names, [TEXTS[0], TEXTS[1], "%PDF-1.4 broken"]), "news")
    job = tiny_service.job(job_id)
    assert job.state == "queued" and job.files_total == 3 and tiny_service.job_manager.queue.pending() == 1
    assert [f.spool_name for f in job.files] == ["00000.txt", "00001.md", "00002.pdf"]
    folder = tiny_service.job_manager.spool.folder(job_id)
    assert sorted(p.name for p in folder.iterdir()) == ["00000.txt", "00001.md", "00002.pdf"]
    assert not (tiny_service.settings.home_path.parent / "evil name.TXT").exists()

    assert _run(tiny_service, job_id) == "done"
    job = tiny_service.job(job_id)
    assert [(f.display_name, f.status) for f in job.files] == [
        ("../../evil name.TXT", "added"), ("notes.md", "added"), ("scan.pdf", "failed")]  # fmt: skip
    assert job.files[2].reason and all(f.seconds > 0 for f in job.files[:2])
    assert job.files_done == 3 and job.bytes_done == job.bytes_total and job.started_at and job.finished_at
    assert job.chunks_done == sum(f.chunks for f in job.files) == tiny_service.stats().chunks
    assert tiny_service.indexer.vectors.index.count() == tiny_service.stats().chunks
    assert not folder.exists()  # the spool is emptied once the job is done
    assert [j.id for j in tiny_service.jobs()] == [job_id]


def test_a_job_runs_once_even_when_enqueued_twice(tiny_service: SearchService) -> None:
    job_id = tiny_service.enqueue_upload(_streams(["a.txt"], TEXTS[:1]), "news")
    assert _run(tiny_service, job_id) == "done"
    assert _run(tiny_service, job_id, "other-host:2") is None  # a duplicate message finds nothing to claim
    assert tiny_service.count_documents() == 1


def test_cancel_a_queued_job_and_stop_a_running_one_between_files(
    tiny_service: SearchService, monkeypatch: pytest.MonkeyPatch
) -> None:
    queued = tiny_service.enqueue_upload(_streams(["a.txt"], TEXTS[:1]), "news")
    assert tiny_service.cancel_job(queued).state == "cancelled"
    assert _run(tiny_service, queued) is None
    with pytest.raises(StoreError, match="already ended"):
        tiny_service.cancel_job(queued)
    with pytest.raises(JobNotFoundError, match="no job with id 999"):
        tiny_service.job(999)

    running = tiny_service.enqueue_upload(_streams([f"{n}.txt" for n in range(5)], TEXTS), "news")
    real_done = JobStore.file_done

    def cancel_after_first(self: JobStore, job_id: int, ordinal: int, outcome) -> None:
        real_done(self, job_id, ordinal, outcome)
        if ordinal == 0:
            JobStore(tiny_service.store).cancel(job_id)  # as another user would, from another process

    monkeypatch.setattr("indexer.pipeline.FLUSH_CHUNKS", 1)  # commit file by file
    monkeypatch.setattr(JobStore, "file_done", cancel_after_first)
    assert _run(tiny_service, running) == "cancelled"
    job = tiny_service.job(running)
    assert job.files_done == 1 and [f.status for f in job.files] == ["added"] + ["pending"] * 4
    assert tiny_service.count_documents() == 1


def test_an_interrupted_attempt_resumes_from_the_first_file_not_recorded(
    tiny_service: SearchService, monkeypatch: pytest.MonkeyPatch
) -> None:
    job_id = tiny_service.enqueue_upload(_streams([f"{n}.txt" for n in range(5)], TEXTS), "news")
    real_done = JobStore.file_done

    def die_on_third(self: JobStore, job_id: int, ordinal: int, outcome) -> None:
        if ordinal == 2:  # file 2 is committed, its result not yet recorded: the worker dies here
            raise KeyboardInterrupt
        real_done(self, job_id, ordinal, outcome)

    monkeypatch.setattr("indexer.pipeline.FLUSH_CHUNKS", 1)
    monkeypatch.setattr(JobStore, "file_done", die_on_third)
    with pytest.raises(KeyboardInterrupt):
        _run(tiny_service, job_id, "gone-host:1")
    monkeypatch.setattr(JobStore, "file_done", real_done)
    job = tiny_service.job(job_id)
    assert job.state == "running" and job.files_done == 2 and tiny_service.count_documents() == 3

    assert JobStore(tiny_service.store).release(job_id, "gone-host:1")
    assert _run(tiny_service, job_id, "new-host:2") == "done"
    job = tiny_service.job(job_id)
    assert job.attempts == 2 and [f.status for f in job.files] == ["added"] * 5
    assert sum(f.documents for f in job.files) == 5 == tiny_service.count_documents()
    assert job.chunks_done == tiny_service.stats().chunks == tiny_service.indexer.vectors.index.count()


def test_recovery_releases_jobs_of_dead_workers_only(tiny_service: SearchService) -> None:
    jobs = JobStore(tiny_service.store)
    queue = JobQueue(tiny_service.settings)
    dead = tiny_service.enqueue_upload(_streams(["a.txt"], TEXTS[:1]), "news")
    alive = tiny_service.enqueue_upload(_streams(["b.txt"], TEXTS[1:2]), "news")
    host = socket.gethostname()
    assert jobs.claim(dead, f"{host}:{2**22 + 12345}")  # no such process
    assert jobs.claim(alive, f"{host}:{os.getppid()}")  # a live process, beating
    assert recover(jobs, queue, requeue_waiting=False) == [dead]
    assert tiny_service.job(dead).state == "queued" and tiny_service.job(alive).state == "running"
    stale = tiny_service.job(alive)
    assert not is_orphaned(stale) and is_orphaned(stale, now=time.time() + 3600)


def test_the_queue_is_sqlite_in_the_data_directory_unless_configured(tiny_settings) -> None:
    import dataclasses
    import importlib.util

    from huey import SqliteHuey

    from indexer.errors import QueueError
    from indexer.jobs import create_huey

    huey = create_huey(tiny_settings)
    assert isinstance(huey, SqliteHuey) and huey.storage.filename == str(tiny_settings.home_path / "queue.db")
    with pytest.raises(QueueError, match="not supported.*redis://"):
        create_huey(dataclasses.replace(tiny_settings, queue_url="amqp://broker"))
    redis_url = dataclasses.replace(tiny_settings, queue_url="redis://localhost:6379/0")
    if importlib.util.find_spec("redis") is None:
        with pytest.raises(QueueError, match="pip install redis"):
            create_huey(redis_url)
    else:
        assert type(create_huey(redis_url)).__name__ == "RedisHuey"
