"""The vector cache of one process catches up with another process's commits without rebuilding."""

from __future__ import annotations

from pathlib import Path

from app.service import SearchService

DOCS = {
    "dam.txt": "The river dam failed after three days of heavy rain. Engineers had warned about cracks.",
    "coffee.txt": "Coffee farmers in the highlands lose their harvest to a fungus as temperatures rise.",
    "damm.txt": "Der Staudamm brach nach drei Tagen Starkregen. Ingenieure hatten vor Rissen gewarnt.",
}


def test_a_reader_adds_and_drops_what_another_writer_committed(tiny_service: SearchService, tmp_path: Path) -> None:
    reader = tiny_service
    reader.search("warm up", k=1)  # the reader's index is loaded (empty)
    writer = SearchService(reader.settings, reader.indexer.embedder)
    for name, text in DOCS.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    report = writer.ingest([tmp_path / name for name in DOCS], "news")
    assert reader.stats().vectors == reader.stats().chunks  # the Status page counts what workers committed
    vectors = reader.indexer.vectors
    rebuilds = vectors.rebuilds
    hits = reader.search(DOCS["dam.txt"], k=10).results
    assert {r.source_name for r in hits} == set(DOCS)
    assert vectors.rebuilds == rebuilds and vectors.catch_ups >= 1

    gone = report.files[0].document_ids[0]
    writer.delete_document(gone)
    hits = reader.search(DOCS["dam.txt"], k=10).results
    assert gone not in {r.document_id for r in hits} and len(hits) == 2
    assert vectors.index.count() == reader.stats().chunks and vectors.rebuilds == rebuilds
    writer.close()


def test_a_new_process_trusts_an_index_file_saved_at_the_database_generation(
    tiny_service: SearchService, tmp_path: Path, monkeypatch
) -> None:
    for name, text in DOCS.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    tiny_service.ingest([tmp_path / name for name in DOCS], "news")
    vectors = tiny_service.indexer.vectors
    vectors.save()
    saved = {path: path.read_bytes() for path in (vectors.path, vectors.config_path)}
    later = SearchService(tiny_service.settings, tiny_service.indexer.embedder)
    store = later.indexer.store

    def no_counting():
        raise AssertionError("counted the chunks although the saved index matches the database's generation")

    monkeypatch.setattr(store, "chunk_count", no_counting)
    assert {r.source_name for r in later.search(DOCS["dam.txt"], k=10).results} == set(DOCS)
    assert later.indexer.vectors.catch_ups == 0 and later.indexer.vectors.rebuilds == 0
    later.close()
    # A file behind the database (another process committed after it was saved) is still caught up.
    monkeypatch.undo()
    (tmp_path / "more.txt").write_text("Floods closed the mountain road after the dam failed.", encoding="utf-8")
    tiny_service.ingest([tmp_path / "more.txt"], "news")
    for path, data in saved.items():  # the file and config as saved before that ingest
        path.write_bytes(data)
    behind = SearchService(tiny_service.settings, tiny_service.indexer.embedder)
    assert "more.txt" in {r.source_name for r in behind.search(DOCS["dam.txt"], k=10).results}
    assert behind.indexer.vectors.catch_ups == 1
    behind.close()
