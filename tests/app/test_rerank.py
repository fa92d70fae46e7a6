"""NLI reranking: stances, probabilities, order, and that no candidate is ever lost."""

from __future__ import annotations

import numpy as np
import pytest

from app.rerank import DEFAULT_WEIGHT, KEYWORD_TEMPLATE, UNCLEAR, combine, hypothesis, rerank, stance_of
from app.results import SearchResult
from indexer.nli import NliModel

# passage text -> probabilities (entailment, neutral, contradiction)
PROBS = {
    "supports": (0.9, 0.05, 0.05),
    "denies": (0.05, 0.05, 0.9),
    "unrelated": (0.02, 0.96, 0.02),
    "vague": (0.3, 0.4, 0.3),
}


class FakeNli(NliModel):
    """Returns fixed probabilities per passage and records the hypotheses it was given."""

    name = "fake"

    def __init__(self) -> None:
        self.hypotheses: list[str] = []

    def predict(self, premises: list[str], hypotheses: list[str], batch_size: int = 16) -> np.ndarray:
        self.hypotheses += hypotheses
        return np.array([PROBS[p] for p in premises], dtype=np.float32)


def _result(rank: int, score: float, text: str) -> SearchResult:
    return SearchResult(
        rank=rank,
        score=score,
        text=text,
        source_name=f"{text}.txt",
        title=text,
        language="en",
        collection="c",
        document_id=rank,
        chunk_id=rank,
        char_start=0,
        char_end=len(text),
    )


def _results() -> list[SearchResult]:
    return [
        _result(1, 0.90, "unrelated"),
        _result(2, 0.88, "vague"),
        _result(3, 0.87, "supports"),
        _result(4, 0.86, "denies"),
    ]


CLAIM = "The old bridge was closed to traffic last week."


def test_rerank_keeps_every_candidate_and_renumbers_ranks() -> None:
    results = _results()
    out = rerank(results, CLAIM, FakeNli(), weight=0.1)
    assert sorted(r.chunk_id for r in out) == sorted(r.chunk_id for r in results)
    assert [r.rank for r in out] == [1, 2, 3, 4]
    # Deciding passages (support or contradiction) move above the neutral ones; the neutral one stays.
    assert [r.text for r in out] == ["supports", "denies", "vague", "unrelated"]
    scores = [r.rerank_score for r in out]
    assert scores == sorted(scores, reverse=True)


def test_rerank_sets_stance_and_probabilities() -> None:
    out = {r.text: r for r in rerank(_results(), CLAIM, FakeNli())}
    assert out["supports"].stance == "supports"
    assert out["denies"].stance == "contradicts"
    assert out["unrelated"].stance == "neutral"
    for r in out.values():
        assert r.p_entail + r.p_neutral + r.p_contradict == pytest.approx(1.0, abs=1e-5)
        assert r.rerank_score == pytest.approx(r.score + DEFAULT_WEIGHT * (r.p_entail + r.p_contradict))
        assert "stance" in r.to_dict()


def test_weight_zero_keeps_the_vector_order_and_input_is_not_changed() -> None:
    results = _results()
    out = rerank(results, CLAIM, FakeNli(), weight=0.0)
    assert [r.text for r in out] == [r.text for r in results]
    assert all(r.stance is None and r.rank == i for i, r in enumerate(results, start=1))


def test_template_builds_the_hypothesis() -> None:
    nli = FakeNli()
    rerank(_results(), "solar power", nli, template=KEYWORD_TEMPLATE)
    assert set(nli.hypotheses) == {"This text is about solar power."}
    assert hypothesis("x", None) == "x"
    with pytest.raises(ValueError, match="query"):
        hypothesis("x", "no placeholder")


def test_empty_results_and_combine() -> None:
    assert rerank([], "q", FakeNli()) == []
    probs = np.array([[0.2, 0.5, 0.3]])
    assert combine(np.array([0.5]), probs, 1.0)[0] == pytest.approx(1.0)


@pytest.mark.parametrize(
    "query",
    ["When was the old bridge closed?", "Wann wurde die alte Brücke gesperrt?", "bridge closure", "Назовите мосты"],
)
def test_questions_and_keywords_keep_the_vector_order_but_get_a_stance(query: str) -> None:
    out = rerank(_results(), query, FakeNli(), weight=1.0)
    assert [r.text for r in out] == [r.text for r in _results()]
    assert [r.stance for r in out] == ["neutral", UNCLEAR, "supports", "contradicts"]


def test_reorder_can_be_forced_either_way() -> None:
    assert rerank(_results(), "bridge", FakeNli(), weight=1.0, reorder=True)[0].text == "supports"
    assert rerank(_results(), CLAIM, FakeNli(), weight=1.0, reorder=False)[0].text == "unrelated"


def test_a_stance_below_the_model_threshold_is_unclear() -> None:
    probs = np.array([0.55, 0.25, 0.2])
    assert stance_of(probs, 0.6) == UNCLEAR
    assert stance_of(probs, 0.55) == "supports"
    assert stance_of(np.array([0.1, 0.2, 0.7]), 0.6) == "contradicts"
    nli = FakeNli()
    nli.badge_threshold = 0.95
    assert {r.stance for r in rerank(_results(), CLAIM, nli)} == {UNCLEAR, "neutral"}
