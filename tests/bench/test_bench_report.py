"""The generated report's NLI section, from small fake result files, and the standalone benchmarks' result files."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pytest

from bench.env import RESULTS, run_standalone, standalone_parser
from bench.md import fmt
from bench.report import load_results, write_report
from bench.report_nli import NLI_NAMES, render_nli

MACHINE = {
    "cpu": "Test CPU",
    "cores": 2,
    "torch_threads": 2,
    "faiss_threads": 2,
    "load_average": [1.0, 2.0, 3.0],
    "versions": {"torch": "9.9", "sentence-transformers": "8.8", "faiss-cpu": "7.7"},
    "git_commit": "abc1234",
    "date": "2026-01-01T00:00:00+00:00",
}


def _grid(r1: float, mrr: float, n: int = 30) -> dict[str, dict[str, float]]:
    # Only the product's weight differs from vector-only; the other weights keep the vector figures.
    return {
        f"decisive@{w}": {"r1": r1 if w == 0.05 else 80.0, "mrr": mrr if w == 0.05 else 85.5, "n": n}
        for w in (0.0, 0.01, 0.05, 0.1)
    }


def _fake_results() -> dict[str, dict[str, Any]]:
    claims = {"entailment": _grid(82.9, 87.8, 41), "neutral": _grid(53.1, 61.5, 32)}
    return {
        "nli_xnli": {
            "model": "builtin:nli",
            "held_out_ids": 498,
            "pairs": 1000,
            "accuracy": {"de": 0.655, "en": 0.7, "avg": 0.6781},
            "cross_en_hypothesis": {"de-en": 0.612},
            "cross_avg": 0.612,
            "seconds": 120.0,
            "pairs_per_s": 8.3,
            "machine": MACHINE,
        },
        "rerank_xquad": {
            "model": "builtin:nli",
            "k": 10,
            "questions": 30,
            "claims": 100,
            "default_weight": 0.05,
            "xquad": {"de": {"none": _grid(83.3, 87.2), "about": _grid(86.7, 88.0)}},
            "claims_check": {"de": {"stance_accuracy": 55.95, "by_label": claims}},
            "seconds": 600.0,
            "machine": MACHINE,
        },
        "rerank_latency": {
            "model": "builtin:nli",
            "candidates": 20,
            "mean_tokens": 125.9,
            "repeats": 10,
            "threads": 2,
            "ms": {"p50": 4523.44, "p95": 4573.55, "mean": 4523.59, "n": 10},
            "machine": MACHINE,
        },
    }


def _report(tmp_path: Path, results: dict[str, dict[str, Any]]) -> str:
    folder = tmp_path / "results"
    folder.mkdir()
    for name, data in results.items():
        (folder / f"{name}.json").write_text(json.dumps(data), encoding="utf-8")
    return write_report(folder, tmp_path / "BENCHMARKS.md").read_text(encoding="utf-8")


def test_nli_section_shows_every_part_from_the_result_files(tmp_path: Path) -> None:
    text = _report(tmp_path, _fake_results())
    section = text[text.index("## 5. NLI reranker") :]
    for name in NLI_NAMES:
        assert f"| {name} | full | 2026-01-01T00:00:00+00:00 |" in section
    assert "| 2 / 2 | 1.00 2.00 3.00 | torch 9.9, ST 8.8, faiss 7.7 | abc1234 |" in section
    # Held-out XNLI: percentages per language, the average and the English-claim figure.
    assert "| de | 65.5 | 61.2 |" in section and "| en | 70.0 | – |" in section
    assert "| **average** | 67.8 | 61.2 |" in section
    assert "Average accuracy over the languages: 67.8 %. With the premise in the language" in section
    # XQuAD with and without reranking at the recorded weight, and the claim check.
    assert "| de | 80.0 | 85.5 | 83.3 | 87.2 | 86.7 | 88.0 | 87.2 |" in section
    assert "| **0.05** (product) | 83.3 | 87.2 | 86.7 | 88.0 |" in section
    assert "| de | 56.0 | 80.0 → 82.9 | 80.0 → 53.1 | 41 / 32 |" in section
    assert "20 candidates of 126 tokens on average, 2 thread(s)" in section
    assert "p50 4,523 ms, p95 4,574 ms" in section


def test_nli_section_is_left_out_without_its_result_files(tmp_path: Path) -> None:
    text = _report(tmp_path, {})
    assert "NLI reranker" not in text


def test_nli_section_shows_only_the_parts_that_ran(tmp_path: Path) -> None:
    results = _fake_results()
    del results["nli_xnli"]["cross_en_hypothesis"], results["nli_xnli"]["cross_avg"]
    text = _report(tmp_path, {"nli_xnli": results["nli_xnli"]})
    assert "Held-out XNLI accuracy" in text and "| de | 65.5 | – |" in text
    assert "claim in English (the product's usual case)" not in text
    assert "Does reranking help?" not in text and "**Latency.**" not in text
    assert "| rerank_latency |" not in text


def test_older_rerank_results_fall_back_to_the_product_weight() -> None:
    from app.rerank import DEFAULT_WEIGHT

    data = _fake_results()["rerank_xquad"]
    del data["default_weight"]
    text = render_nli({"rerank_xquad": data})
    assert f"with the product's w = {fmt(DEFAULT_WEIGHT, 2)}" in text


@pytest.mark.skipif(not all((RESULTS / f"{n}.json").exists() for n in NLI_NAMES), reason="no stored NLI results")
def test_stored_nli_results_render() -> None:
    results = load_results(RESULTS, NLI_NAMES)
    text = render_nli(results)
    avg, cross = results["nli_xnli"]["accuracy"]["avg"], results["nli_xnli"]["cross_avg"]
    assert f"| **average** | {fmt(100 * avg)} | {fmt(100 * cross)} |" in text
    latency = results["rerank_latency"]
    for name, ms in (latency.get("runtimes") or {"": latency["ms"]}).items():
        assert (f"| {name} | {fmt(ms['p50'], 0)} |" if name else f"p50 {fmt(ms['p50'], 0)} ms") in text


def test_standalone_result_file_keeps_the_measurements_and_adds_the_run_facts(tmp_path: Path) -> None:
    out = tmp_path / "nli_xnli.json"
    parser = standalone_parser("nli_xnli", "test", eval_dir=False)
    parser.add_argument("--max-ids", type=int)

    def measure(args: argparse.Namespace) -> dict[str, Any]:
        return {"model": args.model, "max_ids": args.max_ids, "seconds": 1.0}

    assert run_standalone(parser, measure, ["--out", str(out), "--threads", "0", "--max-ids", "3"]) == 0
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["name"] == "nli_xnli" and data["model"] == "builtin:nli" and data["max_ids"] == 3
    assert data["seconds"] == 1.0 and data["wall_s"] >= 0 and data["command"]
    assert data["machine"]["torch_threads"] >= 1 and data["machine"]["versions"]["torch"]


def test_nli_section_shows_badges_runtimes_and_query_kinds(tmp_path: Path) -> None:
    results = _fake_results()
    badge = {"precision": 0.9, "coverage": 0.25, "n": 400}
    results["nli_xnli"] |= {
        "badge_threshold": 0.83,
        "badges": {"all": badge | {"n": 800}, "de": badge, "de-en": badge | {"precision": 0.8, "coverage": 0.1}},
        "badges_cross": {"precision": 0.8, "coverage": 0.1, "n": 400},
    }
    results["rerank_latency"] |= {
        "runtimes": {
            "torch": {"p50": 1000.0, "p95": 1100.0},
            "onnx-int8": {"p50": 400.0, "p95": 450.0},
        },
        "service": {"plain_ms": {"p50": 30.0}, "stance_ms": {"p50": 450.0}, "nli_p50_ms": 420.0, "scored": 20},
    }
    results["rerank_xquad"]["query_kinds"] = {
        "xquad_questions": {"en": 1.0, "th": 3.0},
        "xnli_hypotheses": {"en": 98.0, "th": 86.0},
    }
    section = _report(tmp_path, results)
    assert "at least 0.83" in section and "| de | 90.0 | 25.0 | 80.0 | 10.0 |" in section
    assert "| **all** | 90.0 | 25.0 | 80.0 | 10.0 |" in section
    assert "| onnx-int8 | 400 | 450 | 2.50 |" in section and "the NLI stage takes 420 ms" in section
    assert "2.0 % of the XQuAD questions" in section and "lowest 86.0 %" in section


def _jobs_results() -> dict:
    machine = MACHINE
    run = {"during_job_ms": {"p50": 40.0, "p95": 90.0, "mean": 50.0, "n": 500}, "errors": 0,
           "job": {"chunks_per_s": 9.5}}  # fmt: skip
    latency = {"name": "jobs_latency", "clients": 4, "queries_per_client": 125, "worker_threads": 0,
               "base_chunks": 84, "idle_ms": {"p50": 30.0, "p95": 60.0, "mean": 35.0, "n": 500}, "idle_errors": 0,
               "by_worker_nice": {"0": {**run, "p95_ratio": 3.1, "p50_ratio": 2.0},
                                  "10": {**run, "p95_ratio": 1.5, "p50_ratio": 1.3}},
               "errors": 0, "vectors_equal_chunks": True, "machine": machine, "wall_s": 60}  # fmt: skip
    row = {"jobs": 4, "workers_used": 1, "chunks": 200, "seconds": 20.0, "chunks_per_s": 10.0, "vs_one_thread": 1.0}
    throughput = {"name": "jobs_throughput", "files": 48, "jobs": 4, "cores": 2, "machine": machine, "wall_s": 90,
                  "layouts": {"1 worker × 1 thread": row,
                              "2 workers × 1 thread": {**row, "workers_used": 2, "chunks_per_s": 18.0,
                                                       "vs_one_thread": 1.8}}}  # fmt: skip
    return {"jobs_latency": latency, "jobs_throughput": throughput}


def test_jobs_section_says_per_worker_priority_whether_the_latency_target_holds(tmp_path: Path) -> None:
    for name, data in _jobs_results().items():
        (tmp_path / f"{name}.json").write_text(json.dumps(data), encoding="utf-8")
    text = write_report(tmp_path, tmp_path / "BENCHMARKS.md").read_text(encoding="utf-8")
    section = text[text.index("## 9. Background jobs") :]
    assert "| while a job ingests, worker nice 0 | 40.0 | 90.0 | × 3.10 (**no**) |" in section
    assert "| while a job ingests, worker nice 10 | 40.0 | 90.0 | × 1.50 (yes) |" in section
    assert "| 2 workers × 1 thread | 4 | 2 | 200 | 20.0 | 18.00 | × 1.80 |" in section
