"""Language arrays and profiles: saved per store generation, read back by a new process, never stale."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from indexer.retriever import PROFILES_FILE, load_profiles


def _files(folder: Path) -> list[Path]:
    folder.mkdir()
    texts = {"en": "The river flooded the old town and boats rescued the residents.",
             "de": "Der Fluss überschwemmte die Altstadt, Boote retteten die Bewohner.",
             "fr": "La rivière a inondé la vieille ville et des bateaux ont secouru les habitants."}
    paths = []
    for lang, text in texts.items():
        for n in range(3):
            path = folder / f"{lang}-{n}.txt"
            path.write_text(f"{text} ({n})", encoding="utf-8")
            paths.append(path)
    return paths


def test_a_new_service_reads_the_saved_profiles_and_a_commit_replaces_them(
    tiny_settings, tiny_embedder, tmp_path: Path, monkeypatch
) -> None:
    from app.service import SearchService

    files = _files(tmp_path / "docs")
    first = SearchService(tiny_settings, tiny_embedder)
    first.ingest(files[:6], "c")
    before = first.search("flood rescue", k=5)
    generation = first.store.generation()
    first.close()
    saved = Path(tiny_settings.home) / PROFILES_FILE
    saved_generation, profiles = load_profiles(saved)
    assert saved_generation == generation
    assert sum(len(p.ids) for p in profiles.values()) == first.store.counts()["chunks"]

    second = SearchService(tiny_settings, tiny_embedder)

    def no_scan():
        raise AssertionError("the language arrays were queried although a saved copy matches the generation")

    monkeypatch.setattr(second.store, "language_ids", no_scan)
    again = second.search("flood rescue", k=5)
    assert [r.chunk_id for r in again.results] == [r.chunk_id for r in before.results]
    assert again.language_counts == before.language_counts
    monkeypatch.undo()
    second.ingest(files[6:], "c")  # a commit: the next search profiles the new generation and saves it
    assert set(second.search("flood rescue", k=9).language_counts) == {"en", "de", "fr"}
    assert load_profiles(saved)[0] == second.store.generation()
    second.close()


@pytest.mark.parametrize("content", [b"", b"not an npz file", b"PK\x03\x04broken"])
def test_an_unreadable_profiles_file_is_ignored(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / PROFILES_FILE
    path.write_bytes(content)
    assert load_profiles(path) is None
    assert load_profiles(tmp_path / "missing.npz") is None
    np.savez(path, generation=np.array(1))  # a generation but no languages: unreadable, not a crash
    assert load_profiles(path) is None


def test_warm_up_loads_what_the_first_search_needs(tiny_settings, tiny_embedder, tmp_path: Path, monkeypatch) -> None:
    from app.service import SearchService
    from indexer import language

    first = SearchService(tiny_settings, tiny_embedder)
    first.ingest(_files(tmp_path / "docs")[:3], "c")
    first.close()
    language._detector.cache_clear()
    service = SearchService(tiny_settings, tiny_embedder)
    assert service.indexer.loaded_vectors is None
    service.warm_up()
    assert language._detector.cache_info().currsize == 1
    assert service.indexer.loaded_vectors is not None and service.indexer.loaded_vectors.count() == 3
    monkeypatch.setattr(service.store, "language_ids", lambda: (_ for _ in ()).throw(AssertionError("rescanned")))
    monkeypatch.setattr(language, "LanguageDetectorBuilder", None)  # a second build would fail
    assert service.search("flood rescue", k=2).results
    service.close()


def test_added_chunks_extend_the_profiles_and_deletes_profile_afresh(
    tiny_settings, tiny_embedder, tmp_path: Path, monkeypatch
) -> None:
    from app.service import SearchService
    from indexer import retriever

    files = _files(tmp_path / "docs")
    service = SearchService(tiny_settings, tiny_embedder)
    service.ingest(files[:6], "c")  # en and de, three each
    before = service.retriever.profiles()
    built = []
    real_build = retriever.retrieval.build_profiles
    monkeypatch.setattr(retriever.retrieval, "build_profiles", lambda *a, **k: built.append(1) or real_build(*a, **k))
    monkeypatch.setattr(retriever, "REPROFILE_GROWTH", 10.0)  # no language grows enough to be profiled again
    service.ingest([files[0]], "d")  # the same text again, in another collection: one chunk more
    after = service.retriever.profiles()
    assert built == []  # caught up: only the new chunk's language was read
    assert len(after["en"].ids) == len(before["en"].ids) + 1 and after["en"].profiled == before["en"].profiled
    np.testing.assert_array_equal(after["en"].mean, before["en"].mean)
    assert service.retriever.allowed(retriever.Filters(None, ["en"], None)).tolist() == after["en"].ids.tolist()
    service.ingest(files[6:], "c")  # a new language (fr): every profile is estimated again
    assert "fr" in service.retriever.profiles() and built == [1]
    service.delete_collection("d")  # a delete: the arrays are read again, not extended
    assert len(service.retriever.profiles()["en"].ids) == 3 and built == [1, 1]
    service.close()
