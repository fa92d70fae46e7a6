"""Balanced, hybrid, other-language and similar search; language facets; export."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest

from app.export import to_csv, to_json
from app.service import SearchService

DOCS = {
    "en.txt": "The Karsk dam failed after heavy rain and the valley flooded within hours.",
    "en2.txt": "Case number KX-4471 concerns the insurance claims filed after the flood.",
    "de.txt": "Der Karsk-Staudamm brach nach starkem Regen, und das Tal wurde innerhalb von Stunden überflutet.",
    "ru.txt": "Плотина Карск прорвалась после сильных дождей, и долина была затоплена за несколько часов.",
    "zh.txt": "卡尔斯克大坝在暴雨后溃决，山谷在几个小时内被洪水淹没。",
    "fr.txt": "=HYPERLINK(\"x\") Le barrage de Karsk a cédé après de fortes pluies et la vallée a été inondée.",
}


@pytest.fixture
def service(tiny_service: SearchService, tmp_path: Path) -> SearchService:
    folder = tmp_path / "docs"
    folder.mkdir()
    for name, text in DOCS.items():
        (folder / name).write_text(text, encoding="utf-8")
    assert len(tiny_service.ingest([folder], "news").added) == len(DOCS)
    return tiny_service


def test_quoted_phrase_forces_a_keyword_match(service: SearchService) -> None:
    results = service.search('"KX-4471" insurance', k=5, hybrid=True).results
    assert [r.source_name for r in results] == ["en2.txt"]
    assert service.search('"no such phrase anywhere"', k=5, hybrid=True).results == []


def test_hybrid_puts_the_exact_identifier_first(service: SearchService) -> None:
    results = service.search("KX-4471", k=6, hybrid=True).results
    assert results[0].source_name == "en2.txt"
    assert len(results) == 6  # keyword hits fused with the dense list, nothing lost


def test_other_languages_leaves_out_the_query_language(service: SearchService) -> None:
    response = service.search("The dam failed after heavy rain and the valley flooded.", k=10, other_languages=True)
    assert response.query_language == "en"
    assert response.results and all(r.language != "en" for r in response.results)


def test_balanced_covers_every_language_and_keeps_the_top_hit(service: SearchService) -> None:
    query = DOCS["de.txt"]
    plain = service.search(query, k=6)
    balanced = service.search(query, k=6, balanced=True)
    assert balanced.results[0].chunk_id == plain.results[0].chunk_id
    assert {r.language for r in balanced.results} == {"en", "de", "ru", "zh", "fr"}
    assert [r.rank for r in balanced.results] == list(range(1, 7))
    assert set(balanced.language_counts) <= {"en", "de", "ru", "zh", "fr"}


def test_similar_leaves_out_the_document_itself(service: SearchService) -> None:
    doc = next(d for d in service.documents() if d.source_name == "de.txt")
    response = service.similar(doc.id, k=10)
    assert response.results and doc.id not in {r.document_id for r in response.results}
    assert len({r.document_id for r in response.results}) == len(DOCS) - 1


def test_export_csv_and_json(service: SearchService) -> None:
    responses = service.search_many(["dam", "flood"], k=3)
    rows = list(csv.DictReader(io.StringIO(to_csv(responses))))
    assert len(rows) == 6 and {"query", "rank", "language", "source_name", "text", "stance"} <= set(rows[0])
    fr = [r for r in rows if r["source_name"] == "fr.txt"]
    assert all(r["text"].startswith("'=") for r in fr)  # no spreadsheet formula
    data = json.loads(to_json(responses))
    assert [d["query"] for d in data] == ["dam", "flood"] and len(data[0]["results"]) == 3


@pytest.mark.model
def test_balanced_sample_search_spans_many_languages(sample_service: SearchService) -> None:
    plain = sample_service.search("why did the dam collapse", k=12)
    balanced = sample_service.search("why did the dam collapse", k=12, balanced=True)
    assert balanced.results[0].chunk_id == plain.results[0].chunk_id
    assert len({r.language for r in balanced.results}) >= 10 > len({r.language for r in plain.results})
    dam = [r for r in balanced.results if r.source_name.startswith("dam-failure")]
    assert len({r.language for r in dam}) >= 7


@pytest.mark.parametrize("mode", [{}, {"balanced": True}, {"hybrid": True}])
def test_every_result_scores_its_cosine_with_the_query(service: SearchService, mode: dict) -> None:
    # Dense hits carry the index's score; keyword hits fused in from beyond them are scored from their vectors.
    query = "KX-4471 flood insurance"
    results = service.search(query, k=6, **mode).results
    vector = service.indexer.embedder.encode_queries([query])[0]
    stored = service.indexer.vectors.vectors_of([r.chunk_id for r in results])
    assert len(results) == 6
    np.testing.assert_allclose([r.score for r in results], stored @ vector, atol=1e-5)


def test_a_keyword_hit_beyond_the_dense_list_gets_its_cosine(service: SearchService, monkeypatch) -> None:
    retrieve = service.retriever.retrieve
    wanted = service.search("KX-4471", k=1, hybrid=True).results[0]
    assert wanted.source_name == "en2.txt"

    def without_it(*args, **kwargs):  # a larger collection, where the passage falls outside the dense candidates
        ranked, facets = retrieve(*args, **kwargs)
        return [(i, s) for i, s in ranked if i != wanted.chunk_id], facets

    monkeypatch.setattr(service.retriever, "retrieve", without_it)
    found = service.search("KX-4471", k=6, hybrid=True).results
    vector = service.indexer.embedder.encode_queries(["KX-4471"])[0]
    mine = next(r for r in found if r.chunk_id == wanted.chunk_id)
    stored = service.indexer.vectors.vectors_of([mine.chunk_id])[0]
    assert mine.score == pytest.approx(float(stored @ vector), abs=1e-5)
