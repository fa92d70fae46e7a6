"""Ranking metrics and XQuAD task definitions of the benchmark suite (no model, no data)."""

from __future__ import annotations

import pytest

from bench.metrics import Judged, accuracy_at_1, average, dedupe, judge, summarize
from bench.xquad_systems import restrict, subset, tabulate, tasks


def test_dedupe_keeps_the_first_chunk_of_each_document() -> None:
    ranked = [(7, (1, "de")), (7, (1, "de")), (3, (2, "en")), (7, (1, "de")), (5, (1, "en"))]
    assert dedupe(ranked) == [(1, "de"), (2, "en"), (1, "en")]


@pytest.mark.parametrize(
    ("ranking", "accept", "rank"),
    [
        ([(2, "de"), (1, "en"), (1, "de")], lambda lang: lang == "de", 3),
        ([(2, "de"), (1, "en"), (1, "de")], lambda lang: True, 2),
        ([(2, "de")] * 10 + [(1, "de")], lambda lang: True, None),  # beyond the cut-off
        ([], lambda lang: True, None),
    ],
)
def test_judge_finds_the_first_accepted_gold_version(ranking: list, accept: object, rank: int | None) -> None:
    assert judge(ranking, 1, accept).rank == rank


def test_summarize_recall_mrr_and_own_language_rate() -> None:
    judged = [Judged(1, "de"), Judged(2, "en", 8), Judged(None, "de"), Judged(10, "de")]
    out = summarize(judged, own_lang="de")
    assert out == {"r1": 25.0, "r10": 75.0, "mrr10": round(100 * (1 + 0.5 + 0.1) / 4, 2), "docs_in_top10": 9.5,
                   "n": 4, "own_lang_top1": 75.0}


def test_average_is_unweighted_over_languages() -> None:
    out = average({"de": {"r10": 50.0, "n": 10}, "en": {"r10": 100.0, "n": 30}, "zh": {"n": 0}})
    assert out == {"r10": 75.0, "n": 40}


def test_accuracy_at_1_counts_aligned_nearest_neighbours() -> None:
    assert accuracy_at_1([0, 1, 0, 3]) == 75.0


def test_tasks_cover_each_setting() -> None:
    langs = ("en", "de", "zh")
    assert [t.key for t in tasks("en2x", langs)] == ["de", "zh"]
    assert all(t.src == "en" and t.languages == (t.key,) for t in tasks("en2x", langs))
    assert all(t.languages == ("en",) for t in tasks("x2en", langs))
    foreign = {t.key: t.languages for t in tasks("mixed_foreign", langs)}
    assert foreign["de"] == ("en", "zh")
    mixed = {t.key: t for t in tasks("mixed", langs)}["de"]
    assert mixed.languages is None
    assert mixed.judges["gold_lang"]("de") and not mixed.judges["other_lang"]("de")


def test_subset_is_evenly_spaced_and_restrict_follows_it() -> None:
    from bench.data import Question

    questions = [Question(str(i), i, "en", f"q{i}") for i in range(10)]
    assert [q.qid for q in subset(questions, 3)] == ["0", "4", "9"]
    assert subset(questions, 0) == questions
    full = {("mono", "en", "gold"): {str(i): Judged(1, "en") for i in range(10)}}
    part = {("mono", "en", "gold"): {"4": Judged(None, "en")}}
    assert restrict(full, part) == {("mono", "en", "gold"): {"4": Judged(1, "en")}}
    assert tabulate(part)["mono"]["gold"]["avg"]["r10"] == 0.0
