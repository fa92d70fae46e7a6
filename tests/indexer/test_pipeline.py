"""Ingest, dedup, delete, rebuild and crash safety of the pipeline: tiny model, real FAISS, SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from app.service import SearchService
from indexer.errors import ModelMismatchError, StoreError

DOCS = {
    "dam.txt": "The river dam failed after three days of heavy rain. Engineers had warned about cracks.",
    "coffee.txt": "Coffee farmers in the highlands lose their harvest to a fungus as temperatures rise.",
    "solar.md": "# Solar roofs\n\nThe city installed solar panels on every school roof this year.",
    "damm.txt": "Der Staudamm brach nach drei Tagen Starkregen. Ingenieure hatten vor Rissen gewarnt.",
}


@pytest.fixture(params=["sqlite", "postgresql"])
def tiny_settings(request: pytest.FixtureRequest, tiny_settings):
    """Every test here runs on both stores (PostgreSQL: a fresh database on a temporary server)."""
    if request.param == "sqlite":
        return tiny_settings
    return dataclasses.replace(tiny_settings, store_url=request.getfixturevalue("postgres_url"))


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    for name, text in DOCS.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def test_ingest_then_reingest_is_a_reported_no_op(tiny_service: SearchService, corpus: Path) -> None:
    report = tiny_service.ingest([corpus], "news")
    assert [f.status for f in report.files] == ["added"] * 4
    assert report.n_chunks == tiny_service.stats().chunks == tiny_service.indexer.vectors.index.count()
    again = tiny_service.ingest([corpus], "news")
    assert [f.status for f in again.files] == ["duplicate"] * 4
    assert tiny_service.stats().documents == 4
    # The same text in another collection is not a duplicate there.
    other = tiny_service.ingest([corpus / "dam.txt"], "other")
    assert other.files[0].status == "added"


def test_a_bad_file_fails_alone_with_its_reason_recorded(tiny_service: SearchService, corpus: Path) -> None:
    (corpus / "broken.pdf").write_bytes(b"%PDF-1.4 this is not really a pdf")
    (corpus / "empty.txt").write_text("   \n", encoding="utf-8")
    report = tiny_service.ingest([corpus], "news")
    status = {f.source_name: f.status for f in report.files}
    assert status["broken.pdf"] == "failed" and status["empty.txt"] == "failed"
    assert sum(s == "added" for s in status.values()) == 4
    failed = {f.source_name: f.message for f in report.failed}
    assert failed["empty.txt"]
    errors = {e.file_name for e in tiny_service.errors()}
    assert errors == {"broken.pdf", "empty.txt"}


def test_search_finds_the_exact_text_first_and_filters_apply(tiny_service: SearchService, corpus: Path) -> None:
    tiny_service.ingest([corpus], "news")
    tiny_service.ingest([corpus / "coffee.txt", corpus / "damm.txt"], "second")
    top = tiny_service.search(DOCS["coffee.txt"], k=3).results[0]
    assert top.source_name == "coffee.txt" and top.score > 0.99
    assert top.text == tiny_service.document(top.document_id).text[top.char_start:top.char_end]
    only = tiny_service.search("coffee", k=10, collections=["second"]).results
    assert {r.collection for r in only} == {"second"} and len(only) == 2


def test_hybrid_search_requires_a_quoted_phrase(tiny_service: SearchService, corpus: Path) -> None:
    tiny_service.ingest([corpus], "news")
    hits = tiny_service.search('"Ingenieure hatten" warned', k=10, hybrid=True).results
    assert [r.source_name for r in hits] == ["damm.txt"]
    # A keyword vote counts when the passage holds most of the query's words (not any one of them): a query of
    # a passage's own words finds it first (long enough for its language to be detected, not guessed by the
    # tiny test model's embedding).
    for query, source in (("the coffee farmers lose their harvest to a fungus", "coffee.txt"),
                          ("der Staudamm brach nach Starkregen und die Ingenieure warnten", "damm.txt")):
        assert tiny_service.search(query, k=3, hybrid=True).results[0].source_name == source


def test_delete_document_removes_its_vectors_everywhere(tiny_service: SearchService, corpus: Path) -> None:
    report = tiny_service.ingest([corpus], "news")
    doc_id = next(f.document_ids[0] for f in report.files if f.source_name == "dam.txt")
    removed = tiny_service.delete_document(doc_id)
    assert removed >= 1
    hits = tiny_service.search(DOCS["dam.txt"], k=10).results
    assert doc_id not in {r.document_id for r in hits}
    assert tiny_service.indexer.vectors.index.count() == tiny_service.stats().chunks
    # The saved index agrees after a restart too.
    fresh = SearchService(tiny_service.settings, tiny_service.indexer.embedder)
    assert doc_id not in {r.document_id for r in fresh.search(DOCS["dam.txt"], k=10).results}
    assert fresh.indexer.vectors.rebuilds == 0
    tiny_service.delete_collection("news")
    assert tiny_service.stats().chunks == 0 and tiny_service.indexer.vectors.index.count() == 0


@pytest.mark.parametrize("damage", ["missing", "stale", "corrupt"])
def test_missing_stale_or_corrupt_index_is_rebuilt_from_the_database(
    tiny_service: SearchService, corpus: Path, damage: str
) -> None:
    tiny_service.ingest([corpus], "news")
    before = [(r.chunk_id, r.score) for r in tiny_service.search("rain and cracks", k=5).results]
    vectors = tiny_service.indexer.vectors
    tiny_service.close()
    if damage == "missing":
        vectors.path.unlink()
    elif damage == "corrupt":
        vectors.path.write_bytes(b"garbage")
    else:  # a writer committed without saving the index (crash before the save)
        tiny_service.store.set_meta({"generation": str(tiny_service.store.generation() + 1)})
    fresh = SearchService(tiny_service.settings, tiny_service.indexer.embedder)
    after = [(r.chunk_id, r.score) for r in fresh.search("rain and cracks", k=5).results]
    # A stale but readable file is caught up from the database; only a missing or corrupt one is rebuilt.
    assert fresh.indexer.vectors.rebuilds == (0 if damage == "stale" else 1)
    assert [c for c, _ in after] == [c for c, _ in before]
    np.testing.assert_allclose([s for _, s in after], [s for _, s in before], atol=1e-6)


def test_crash_mid_ingest_keeps_committed_documents_and_no_half_document(
    tiny_service: SearchService, corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = tiny_service.store
    real_add = store.add_document
    calls = {"n": 0}

    def flaky_add(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise StoreError("disk full")
        return real_add(*args, **kwargs)

    monkeypatch.setattr(store, "add_document", flaky_add)
    report = tiny_service.ingest([corpus], "news")
    assert len(report.added) == 3 and len(report.failed) == 1
    assert "disk full" in report.failed[0].message
    monkeypatch.undo()
    # No document without its chunks, and a retry adds only the failed file.
    assert all(d.n_chunks > 0 for d in tiny_service.documents())
    retry = tiny_service.ingest([corpus], "news")
    assert sorted(f.status for f in retry.files) == ["added", "duplicate", "duplicate", "duplicate"]


def test_searching_with_another_model_is_a_clear_error(tiny_service: SearchService, corpus: Path) -> None:
    tiny_service.ingest([corpus], "news")
    embedder = tiny_service.indexer.embedder
    other = SearchService(tiny_service.settings, embedder)
    other.indexer.embedder.fingerprint, real = "0000000000000000", embedder.fingerprint
    try:
        with pytest.raises(ModelMismatchError, match="reindex --reembed"):
            other.search("dam", k=3)
    finally:
        embedder.fingerprint = real
