"""The Milvus section of the report: Milvus Lite against FAISS exact, latency and agreement at one size."""

from __future__ import annotations

from typing import Any

from bench.md import fmt, runs_table, table

NAME = "milvus_latency"
TITLE = "7. Milvus vector backend (Milvus Lite against FAISS exact)"
MODES = {"plain": "no filter", "language": "one language (ids in runs of 10)", "collection": "one contiguous tenth"}


def render_milvus(data: dict[str, Any]) -> str:
    """The Milvus section (heading included) from ``bench/results/milvus_latency.json``.

    Args:
        data: the result of ``python -m bench.milvus_latency``.

    Returns:
        Markdown.
    """
    config, rows = data["config"], []
    for mode, row in data["modes"].items():
        faiss, milvus = row["faiss_exact"], row["milvus_lite_flat"]
        allowed = "all" if row["allowed"] is None else f"{row['allowed']:,}"
        rows.append([MODES.get(mode, mode), allowed, fmt(faiss["ms"]["p50"]), fmt(faiss["ms"]["p95"]),
                     fmt(milvus["ms"]["p50"]), fmt(milvus["ms"]["p95"]), f"× {fmt(milvus['p50_vs_faiss'], 1)}",
                     fmt(milvus["identical_top10"], 3), fmt(milvus["recall10"], 3)])  # fmt: skip
    head = ["filter", "allowed ids", "FAISS p50 ms", "FAISS p95 ms", "Milvus Lite p50 ms", "Milvus Lite p95 ms",
            "Milvus / FAISS", "identical top-10", "recall@10"]  # fmt: skip
    start, build = data["milvus_start"], data["build_s"]
    parts = [
        f"## {TITLE}\n",
        f"`python -m bench.milvus_latency` (not part of `python -m bench`) builds a FAISS exact index "
        f"(`IndexFlatIP`, the baseline) and a Milvus `FLAT` collection on Milvus Lite ({config['engine']}) over the "
        f"same {config['n']:,} unit vectors of dimension {config['dim']} and sends both the same "
        f"{config['queries']} queries per filter (stored vectors with a little noise), top-{config['k']}, one "
        "thread (one OpenMP thread for FAISS, one BLAS thread for Milvus Lite's NumPy scan), the first backend "
        "taking turns. Exact search scans every vector, so its cost does not depend on how the vectors are "
        "spread: these are the synthetic benchmark's random vectors. *Identical top-10* is the share of queries "
        "whose ten ids come in the same order as FAISS's.\n",
        table(head, rows),
        f"Building took {fmt(build['faiss_exact'], 1)} s (FAISS) and {fmt(build['milvus_lite_flat'], 1)} s "
        f"(Milvus Lite: rows sent in batches of 5,000 over gRPC, then sealed). Opening the Milvus index in a new "
        f"process: attaching {fmt(start['attach_s'], 2)} s and a count {fmt(start['count_ms'], 1)} ms (the largest "
        "id comes from the saved descriptor); listing all "
        f"{start['ids']:,} ids, which a process does only when it must compare every id with the database, "
        f"{fmt(start['ids_s'], 1)} s. Peak RSS {data['peak_rss_mb']:,} MB "
        "(both indexes and the Milvus Lite engine in one process).\n",
        "What this shows and does not: Milvus Lite 3 is Milvus's embedded engine rewritten in Python, meant for "
        "tests and one process; it returns the same results as FAISS exact, but its search is a NumPy scan "
        "behind a gRPC server in the same process. A Milvus standalone server or cluster (C++) is the engine of "
        "the multi-machine deployment (docs/scaling.md); none could be run here, so its latency is not measured. "
        "The machine's load average is in the table below: the run shared two cores with other jobs, which slows "
        "both backends alike since each query runs on both in turn.\n",
        runs_table({NAME: data}),
    ]
    return "\n".join(parts)
