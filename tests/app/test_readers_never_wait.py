"""Readers never wait for writers: searches answer while an ingest runs, and see documents as they commit."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from app.service import SearchService

TEXTS = [f"Report {n}: the river dam near village {n} held after a week of heavy rain and wind." for n in range(8)]


def test_a_search_answers_while_an_ingest_runs_in_another_thread(
    tiny_service: SearchService, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = []
    for n, text in enumerate(TEXTS):
        files.append((tmp_path / f"{n}.txt", f"{n}.txt"))
        files[-1][0].write_text(text, encoding="utf-8")
    embedder = tiny_service.indexer.embedder
    real = embedder.encode_documents
    release = threading.Event()

    def slow_encode(texts: list[str], progress=None):  # noqa: ANN202 - the real method's signature
        release.wait(timeout=60)  # the ingest embeds only while the test lets it
        release.clear()
        return real(texts, progress)

    monkeypatch.setattr("indexer.pipeline.FLUSH_CHUNKS", 1)  # one embedding pass and commit per file
    monkeypatch.setattr(embedder, "encode_documents", slow_encode)
    tiny_service.search("warm up", k=1)
    ingest = threading.Thread(target=tiny_service.ingest_files, args=(files, "news"))
    ingest.start()
    try:
        seen = []
        for _ in range(3):
            release.set()
            deadline = time.monotonic() + 60
            while tiny_service.count_documents() <= len(seen) and time.monotonic() < deadline:
                time.sleep(0.02)
            # The ingest is parked inside its next embedding pass: a lock held across it would block here.
            response = tiny_service.search("dam held after heavy rain", k=10)
            seen.append(len(response.results))
            assert ingest.is_alive()
        assert seen == [1, 2, 3]  # each committed document is found by the next search
    finally:
        release.set()
        monkeypatch.setattr(embedder, "encode_documents", real)
        while ingest.is_alive():
            release.set()
            ingest.join(timeout=0.1)
    assert tiny_service.count_documents() == len(TEXTS)
    assert tiny_service.indexer.vectors.index.count() == tiny_service.stats().chunks
