"""The Milvus benchmark at a tiny size on Milvus Lite, its result file and its section of the report."""

from __future__ import annotations

import json
from pathlib import Path

from bench.milvus_latency import main
from bench.report import write_report
from bench.report_milvus import TITLE


def test_milvus_benchmark_runs_and_is_reported(tmp_path: Path, milvus_lite_uri: str) -> None:
    # milvus_lite_uri: under CI a missing pymilvus / milvus-lite fails here instead of skipping.
    out = tmp_path / "results" / "milvus_latency.json"
    assert main(["--n", "300", "--queries", "4", "--out", str(out)]) == 0
    data = json.loads(out.read_text(encoding="utf-8"))
    assert set(data["modes"]) == {"plain", "language", "collection"}
    for row in data["modes"].values():
        # Exact search on both sides: the same ten ids, in the same order, for every query.
        assert row["milvus_lite_flat"]["identical_top10"] == 1.0
        assert row["milvus_lite_flat"]["ms"]["n"] == 4 and row["faiss_exact"]["ms"]["p50"] > 0
    assert data["modes"]["language"]["allowed"] == 30 and data["modes"]["collection"]["allowed"] == 30
    assert data["milvus_start"]["ids"] == 300 and data["machine"]["load_average"]
    report = write_report(out.parent, tmp_path / "BENCHMARKS.md").read_text(encoding="utf-8")
    assert f"## {TITLE}" in report and "Milvus Lite p50 ms" in report
