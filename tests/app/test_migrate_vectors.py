"""Moving the vectors from FAISS to Milvus (Milvus Lite here): verified, recorded, and used by the next start."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from app.cli import main
from app.service import SearchService
from indexer.ann.milvus import MilvusIndex
from indexer.config import load_settings
from indexer.errors import VectorIndexError

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"
_NAMES = itertools.count()
QUERIES = ["how to bake bread", "coffee and the climate", "Brot backen"]


@pytest.fixture
def faiss_service(tiny_settings, tiny_embedder):
    """A FAISS-backed service with the sample corpus ingested (tiny model)."""
    service = SearchService(tiny_settings, tiny_embedder)
    # The plain-text files of the sample corpus: enough chunks in a dozen languages, quick to load.
    report = service.ingest(sorted(SAMPLE.glob("*.txt")), "sample")
    assert report.n_chunks > 20 and not report.failed
    yield service
    service.close()


def _top_ids(service: SearchService, k: int = 10) -> list[list[int]]:
    return [[r.chunk_id for r in service.search(q, k=k).results] for q in QUERIES]


def test_migrate_to_milvus_keeps_the_results_and_records_the_backend(faiss_service, milvus_lite_uri: str) -> None:
    service, home = faiss_service, faiss_service.settings.home_path
    before = _top_ids(service)
    collection = f"moved_{next(_NAMES)}"
    moved = service.migrate_vectors("milvus", milvus_uri=milvus_lite_uri, milvus_collection=collection)
    stored = service.store.counts()["chunks"]
    assert (moved.source, moved.target) == ("faiss", "milvus")
    assert moved.stored == moved.source_count == moved.target_count == stored
    assert moved.spot_checked == min(20, stored)
    # Recorded three ways: the index metadata, config.json beside the index, settings.json for the next start.
    assert service.store.get_meta()["index_type"] == "milvus"
    saved = json.loads((home / "config.json").read_text())
    assert saved["backend"] == "milvus" and saved["count"] == stored
    settings = json.loads((home / "settings.json").read_text())
    assert settings["ann_backend"] == "milvus" and settings["milvus_collection"] == collection
    assert not (home / "vectors.faiss").exists()
    # The running service now searches Milvus, with the same results as FAISS exact.
    assert isinstance(service.indexer.vectors.index, MilvusIndex)
    assert _top_ids(service) == before


def test_the_next_start_opens_milvus_without_rebuilding(faiss_service, tiny_embedder, milvus_lite_uri: str) -> None:
    service, home = faiss_service, faiss_service.settings.home_path
    before = _top_ids(service)
    service.migrate_vectors("milvus", milvus_uri=milvus_lite_uri, milvus_collection=f"moved_{next(_NAMES)}")
    service.close()
    settings = load_settings(str(home), environ={}, model=service.settings.model)
    assert settings.ann_backend == "milvus"
    reopened = SearchService(settings, tiny_embedder)
    try:
        assert _top_ids(reopened) == before
        assert reopened.indexer.vectors.rebuilds == 0
        assert "milvus" in reopened.stats().index_type
    finally:
        reopened.close()


def test_a_failed_verification_keeps_the_old_index(
    faiss_service, milvus_lite_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    service, home = faiss_service, faiss_service.settings.home_path
    before = _top_ids(service)
    monkeypatch.setattr(MilvusIndex, "count", lambda self: 3)
    with pytest.raises(VectorIndexError, match="vector counts disagree.*old index stays in use"):
        service.migrate_vectors("milvus", milvus_uri=milvus_lite_uri, milvus_collection=f"moved_{next(_NAMES)}")
    monkeypatch.undo()
    assert json.loads((home / "config.json").read_text())["backend"] == "faiss"
    assert not (home / "settings.json").exists()
    assert service.store.get_meta()["index_type"] == "faiss"
    assert service.indexer.vectors.index.name == "faiss" and _top_ids(service) == before


@pytest.mark.parametrize(
    "backend, message", [("annoy", "unknown vector index backend 'annoy'"), ("faiss", "already in faiss")]
)
def test_bad_targets_are_refused(faiss_service, backend: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        faiss_service.migrate_vectors(backend)


def test_cli_migrate_vectors(
    tmp_path: Path,
    tiny_model_dir: Path,
    milvus_lite_uri: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("BABELSEARCH_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("BABELSEARCH_MODEL", str(tiny_model_dir))
    monkeypatch.setenv("BABELSEARCH_EMBED_BACKEND", "torch")  # no ONNX export of the tiny model in this test
    assert main(["ingest", str(SAMPLE / "bread-baking-de.txt"), "--collection", "demo"]) == 0
    capsys.readouterr()
    args = ["migrate-vectors", "--to", "milvus", "--uri", milvus_lite_uri, "--collection", f"cli_{next(_NAMES)}"]
    assert main([*args, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["target"] == "milvus" and out["target_count"] == out["stored"] > 0
    assert main(["search", "Brot", "--k", "1", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 1
    assert main(["migrate-vectors", "--to", "annoy"]) == 1
    assert "unknown vector index backend" in capsys.readouterr().err


def test_settings_file_keeps_other_keys_and_hides_a_password_uri_from_others(tmp_path: Path) -> None:
    from indexer.vector_migration import _write_settings

    home = tmp_path / "home"
    home.mkdir()
    (home / "settings.json").write_text('{"chunk_tokens": 128}', encoding="utf-8")
    target = load_settings(str(home), environ={}).with_overrides(
        ann_backend="milvus", milvus_uri="http://babel:secret@milvus:19530"
    )
    path = _write_settings(target)
    saved = json.loads(path.read_text())
    assert saved["chunk_tokens"] == 128 and saved["ann_backend"] == "milvus"
    assert saved["milvus_uri"] == "http://babel:secret@milvus:19530"
    assert path.stat().st_mode & 0o777 == 0o600
    assert load_settings(str(home), environ={}).milvus_uri == "http://babel:secret@milvus:19530"


def test_scaling_guide_names_every_milvus_setting_and_the_command() -> None:
    guide = (Path(__file__).resolve().parents[2] / "docs" / "scaling.md").read_text(encoding="utf-8")
    for name in ("ann_backend", "milvus_uri", "milvus_collection", "milvus_index", "store_url", "queue_url"):
        assert f"`{name}`" in guide, name
    assert "babelsearch migrate-vectors --to milvus" in guide
