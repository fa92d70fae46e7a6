"""The service on an approximate index: chosen by size, shown in the stats, same answers as exact search."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

TOPICS = ["flood", "harvest", "election", "vaccine", "bridge", "storm", "school", "market", "orbit", "museum"]


def _files(folder: Path) -> list[Path]:
    folder.mkdir()
    paths = []
    for n in range(45):
        path = folder / f"note-{n:02d}.txt"
        topic = TOPICS[n % len(TOPICS)]
        path.write_text(f"Note {n} about the {topic}. The {topic} was discussed at length in report {n}.", "utf-8")
        paths.append(path)
    return paths


def test_an_index_past_the_threshold_is_ivf_shown_in_stats_and_answers_like_exact(
    tiny_settings, tiny_embedder, tmp_path: Path
) -> None:
    from app.service import SearchService

    files = _files(tmp_path / "docs")
    exact = SearchService(replace(tiny_settings, home=str(tmp_path / "exact")), tiny_embedder)
    approx = SearchService(replace(tiny_settings, home=str(tmp_path / "ivf"), ann_exact_below=40, ann_nprobe=1000),
                           tiny_embedder)  # fmt: skip
    try:
        for service in (exact, approx):
            service.ingest(files, "notes")
        assert exact.stats().index_type == "faiss · exact"
        label = approx.stats().index_type
        assert label.startswith("faiss · IVF (float16 vectors)") and "(approximate)" in label
        # Every list searched: the same ranking as the exact index.
        for query in ("flood report", "vaccine", "orbit museum"):
            got = [r.source_name for r in approx.search(query, k=5).results]
            assert got == [r.source_name for r in exact.search(query, k=5).results]
    finally:
        exact.close()
        approx.close()
    # A new process loads the saved IVF file (no rebuild) and says so before any search.
    reopened = SearchService(replace(tiny_settings, home=str(tmp_path / "ivf"), ann_exact_below=40), tiny_embedder)
    try:
        assert reopened.stats().index_type.startswith("faiss · IVF (float16 vectors)")
        assert reopened.stats().vectors == reopened.stats().chunks
        assert reopened.search("flood", k=3).results
        assert reopened.indexer.vectors.rebuilds == 0
    finally:
        reopened.close()


def test_similar_never_lists_every_id_of_the_index(tiny_service, tmp_path: Path, monkeypatch) -> None:
    # Listing all ids is a full scan on a large or remote (Milvus) index: "more like this" must not need it.
    tiny_service.ingest(_files(tmp_path / "docs")[:12], "notes")
    index = tiny_service.indexer.vectors.index

    def refuse() -> None:
        raise AssertionError("similar() listed every id of the index")

    monkeypatch.setattr(index, "ids", refuse)
    doc = next(d for d in tiny_service.documents() if d.source_name == "note-00.txt")
    response = tiny_service.similar(doc.id, k=5)
    assert len(response.results) == 5 and doc.id not in {r.document_id for r in response.results}


def test_a_language_filter_comes_from_the_cached_language_arrays(tiny_service, tmp_path: Path, monkeypatch) -> None:
    folder = tmp_path / "mixed"
    folder.mkdir()
    texts = {"en.txt": "The river flooded the old town and boats rescued the families.",
             "de.txt": "Der Fluss überschwemmte die Altstadt und Boote retteten die Familien.",
             "fr.txt": "La rivière a inondé la vieille ville et des bateaux ont sauvé les familles."}  # fmt: skip
    for name, text in texts.items():
        (folder / name).write_text(text, encoding="utf-8")
    tiny_service.ingest([folder], "mixed")
    from app.service import Filters

    by_sql = tiny_service.store.chunk_ids(None, ["de", "fr"], None)
    # From here on the per-search SQL query for the allowed ids is impossible.
    monkeypatch.setattr(tiny_service.store, "chunk_ids", lambda *a, **kw: (_ for _ in ()).throw(AssertionError()))
    np.testing.assert_array_equal(tiny_service.retriever.allowed(Filters(None, ["de", "fr"], None)), by_sql)
    cached = tiny_service.search("flood", k=5, languages=["de", "fr"])
    assert len(cached.results) == 2 and {r.language for r in cached.results} == {"de", "fr"}
    # Filters on collections still go to the database (the monkeypatched query refuses).
    with pytest.raises(AssertionError):
        tiny_service.search("flood", k=5, collections=["mixed"])
