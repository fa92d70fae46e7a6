"""NLI rerank and stance wiring in the service and the CLI, with a deterministic stand-in NLI model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from app import cli
from app.service import SearchService
from indexer.nli import NliModel


class KeywordNli(NliModel):
    """Entails when the premise holds 'yes', contradicts when it holds 'no', else neutral."""

    name = "keyword-nli"

    def __init__(self) -> None:
        self.calls = 0

    def predict(self, premises: list[str], hypotheses: list[str], batch_size: int = 16) -> np.ndarray:
        self.calls += 1
        rows = [
            [0.9, 0.05, 0.05] if " yes" in p else [0.05, 0.05, 0.9] if " no" in p else [0.1, 0.8, 0.1]
            for p in premises
        ]
        return np.array(rows, dtype=np.float32)


@pytest.fixture
def service(tiny_service: SearchService, tmp_path: Path) -> SearchService:
    folder = tmp_path / "docs"
    folder.mkdir()
    texts = [
        "The bridge closed because of the storm, neutral report.",
        "The bridge closed, yes, the storm did it.",
        "The bridge closed, but no, the storm was not the reason.",
        "Bread recipes for a rainy day.",
    ]
    for n, text in enumerate(texts):
        (folder / f"{n}.txt").write_text(text, encoding="utf-8")
    tiny_service.ingest([folder], "news")
    tiny_service._nli = KeywordNli()
    return tiny_service


def test_rerank_sets_stances_and_keeps_every_candidate(service: SearchService) -> None:
    plain = service.search("The storm closed the bridge.", k=4)
    reranked = service.search("The storm closed the bridge.", k=4, rerank=True)
    assert {r.chunk_id for r in reranked.results} == {r.chunk_id for r in plain.results}
    stances = {r.source_name: r.stance for r in reranked.results}
    assert stances == {"0.txt": "neutral", "1.txt": "supports", "2.txt": "contradicts", "3.txt": "neutral"}
    assert [r.rank for r in reranked.results] == [1, 2, 3, 4]
    scores = [r.rerank_score for r in reranked.results]
    assert scores == sorted(scores, reverse=True)
    assert all(abs(r.p_entail + r.p_neutral + r.p_contradict - 1) < 1e-5 for r in reranked.results)


@pytest.mark.parametrize("query", ["Why was the bridge closed?", "bridge storm"])
def test_questions_and_keywords_are_not_reordered(service: SearchService, query: str) -> None:
    plain = service.search(query, k=4)
    reranked = service.search(query, k=4, rerank=True)
    assert [r.chunk_id for r in reranked.results] == [r.chunk_id for r in plain.results]
    assert all(r.stance for r in reranked.results) and reranked.options["reordered"] is False
    assert service.search("The storm closed the bridge.", k=4, rerank=True).options["reordered"] is True


def test_stance_only_keeps_the_vector_order(service: SearchService) -> None:
    plain = service.search("The storm closed the bridge.", k=4)
    labelled = service.search("The storm closed the bridge.", k=4, stance=True)
    assert [r.chunk_id for r in labelled.results] == [r.chunk_id for r in plain.results]
    assert all(r.stance for r in labelled.results)


def test_latency_budget_limits_the_scored_candidates(service: SearchService) -> None:
    service._ms_per_pair = service.settings.rerank_budget_ms  # the last call was slow: afford 4 pairs only
    results = service.search("bridge", k=4, stance=True).results
    assert [r.stance is not None for r in results] == [True] * 4
    service._ms_per_pair = service.settings.rerank_budget_ms * 10
    assert sum(r.stance is not None for r in service.search("bridge", k=4, stance=True).results) == 4


def test_cli_search_rerank_json_and_nli_pairs(
    service: SearchService, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setattr("app.service.load_nli", lambda *args, **kwargs: KeywordNli())
    monkeypatch.setenv("BABELSEARCH_HOME", service.settings.home)
    monkeypatch.setenv("BABELSEARCH_EMBED_BACKEND", "torch")  # the fixture's index was embedded with torch
    monkeypatch.setenv("BABELSEARCH_MODEL", service.settings.model)
    service.close()
    assert cli.main(["search", "The storm closed the bridge.", "--rerank", "--json", "--k", "3"]) == 0
    results = json.loads(capsys.readouterr().out)
    assert len(results) == 3
    for key in ("stance", "p_entail", "p_neutral", "p_contradict", "rerank_score"):
        assert key in results[0]
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("It rained, yes.\tIt rained.\nIt did not, no.\tIt rained.\nA cat.\tIt rained.\n", "utf-8")
    assert cli.main(["nli", str(pairs), "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [x["label"] for x in lines] == ["entailment", "contradiction", "neutral"]
    assert [x["stance"] for x in lines] == ["supports", "contradicts", "neutral"]
    assert cli.main(["nli", "--prepare"]) == 0 and "keyword-nli ready" in capsys.readouterr().out
    assert cli.main(["nli"]) == 1 and "--prepare" in capsys.readouterr().err
    bad = tmp_path / "bad.tsv"
    bad.write_text("only one column\n", "utf-8")
    assert cli.main(["nli", str(bad)]) == 1
    assert "line 1: expected 'premise<TAB>hypothesis'" in capsys.readouterr().err
