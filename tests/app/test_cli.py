"""The babelsearch CLI end to end (tiny model, real SQLite and FAISS)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli import main


@pytest.fixture
def home(tmp_path: Path, tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("BABELSEARCH_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("BABELSEARCH_MODEL", str(tiny_model_dir))
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.txt").write_text("Rivers flood the valley every spring after the snow melts.", encoding="utf-8")
    (folder / "b.md").write_text("# Moon\n\nA probe landed near the lunar south pole.", encoding="utf-8")
    (folder / "bad.docx").write_bytes(b"PK\x03\x04 not a real docx")
    return folder


def _json(capsys: pytest.CaptureFixture[str]) -> object:
    return json.loads(capsys.readouterr().out)


def test_ingest_prints_added_duplicates_and_failures(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ingest", str(home), "--collection", "demo"]) == 0
    out = capsys.readouterr().out
    assert "2 added" in out and "1 failed" in out and "bad.docx" in out
    assert main(["ingest", str(home / "a.txt"), "--collection", "demo"]) == 0
    assert "duplicate: a.txt" in capsys.readouterr().out


def test_search_json_has_the_documented_fields(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["ingest", str(home), "--collection", "demo"])
    capsys.readouterr()
    assert main(["search", "A probe landed near the lunar south pole.", "--k", "2", "--json"]) == 0
    results = _json(capsys)
    assert len(results) == 2 and results[0]["source_name"] == "b.md" and results[0]["rank"] == 1
    for key in ("rank", "score", "text", "source_name", "title", "language", "collection", "document_id",
                "chunk_id", "char_start", "char_end"):
        assert key in results[0]
    assert results[0]["collection"] == "demo" and results[0]["title"] == "Moon"


def test_queries_file_prints_one_json_line_per_query(home: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    main(["ingest", str(home), "--collection", "demo"])
    capsys.readouterr()
    queries = tmp_path / "q.txt"
    queries.write_text("spring floods\n\nlunar probe\n", encoding="utf-8")
    assert main(["search", "--queries-file", str(queries), "--json", "--k", "1"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["query"] for line in lines] == ["spring floods", "lunar probe"]
    assert all(len(line["results"]) == 1 for line in lines)


def test_stats_collections_documents_and_delete(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["ingest", str(home), "--collection", "demo"])
    capsys.readouterr()
    main(["stats", "--json"])
    stats = _json(capsys)
    assert stats["documents"] == 2 and stats["chunks"] == stats["vectors"] >= 2 and stats["collections"] == 1
    assert stats["index_type"] == "faiss · exact" and stats["model"]
    main(["documents", "--collection", "demo", "--json"])
    doc_id = _json(capsys)[0]["id"]
    assert main(["delete", "--collection", "demo", "--document", str(doc_id)]) == 0
    capsys.readouterr()
    main(["stats", "--json"])
    assert _json(capsys)["documents"] == 1
    assert main(["delete", "--collection", "demo"]) == 0
    capsys.readouterr()
    main(["collections", "--json"])
    assert _json(capsys) == []


@pytest.mark.parametrize(
    "argv, message",
    [
        (["search", ""], "query is empty"),
        (["search", "x", "--collection", "nope"], "no collection named 'nope'"),
        (["ingest", "/no/such/file.txt", "--collection", "c"], "no such file or folder: /no/such/file.txt"),
        (["delete", "--collection", "ghost"], "no collection named 'ghost'"),
        (["search", "x", "--k", "0"], "k must be between 1 and 1000"),
    ],
)
def test_user_errors_go_to_stderr_without_traceback(home: Path, capsys: pytest.CaptureFixture[str],
                                                    argv: list[str], message: str) -> None:
    main(["ingest", str(home / "a.txt"), "--collection", "demo"])
    capsys.readouterr()
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_background_ingest_enqueues_and_jobs_show_the_report(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from app.service import SearchService
    from indexer.config import load_settings
    from indexer.jobs import run_job
    from indexer.store.jobs import JobStore

    assert main(["ingest", str(home), "--collection", "demo", "--background", "--json"]) == 0
    queued = _json(capsys)
    assert queued["state"] == "queued" and queued["files"] == 3
    assert main(["documents", "--json"]) == 0 and _json(capsys) == []  # nothing ingested yet: a worker does it
    assert main(["jobs", "--json"]) == 0
    assert [(j["id"], j["state"]) for j in _json(capsys)] == [(queued["job_id"], "queued")]

    service = SearchService(load_settings())
    run_job(queued["job_id"], service.indexer, JobStore(service.store), service.job_manager.spool, "test:1")
    service.close()
    assert main(["jobs", "show", str(queued["job_id"])]) == 0
    out = capsys.readouterr().out
    assert f"job {queued['job_id']}: done" in out and "3/3 files" in out
    assert "added     a.txt" in out and "failed    bad.docx" in out
    assert main(["jobs", "cancel", str(queued["job_id"])]) == 1
    assert "already ended" in capsys.readouterr().err
    assert main(["jobs", "show"]) == 1
    assert "needs a job id" in capsys.readouterr().err
