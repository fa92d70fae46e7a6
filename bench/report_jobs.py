"""The background jobs section of the report: search while a job ingests, and ingest throughput by worker layout."""

from __future__ import annotations

from typing import Any

from bench.md import fmt, runs_table, table

NAMES = ("jobs_latency", "jobs_throughput")
TITLE = "9. Background jobs: searching while a worker ingests, and worker layouts"


def render_jobs(results: dict[str, dict[str, Any]]) -> str:
    """The jobs section (heading included) from whichever of ``NAMES`` has run.

    Args:
        results: benchmark name -> its JSON.

    Returns:
        Markdown.
    """
    parts = [f"## {TITLE}\n", runs_table(results)]
    if "jobs_latency" in results:
        parts.append(_latency(results["jobs_latency"]))
    if "jobs_throughput" in results:
        parts.append(_throughput(results["jobs_throughput"]))
    return "\n".join(parts)


def _latency(data: dict[str, Any]) -> str:
    idle = data["idle_ms"]
    rows = [["idle (no job)", fmt(idle["p50"]), fmt(idle["p95"]), "–", idle["n"], data.get("idle_errors", 0), "–"]]
    # Files written before worker_nice existed hold one run, at the UI's priority.
    runs = data.get("by_worker_nice") or {"0": {k: data[k] for k in ("during_job_ms", "p95_ratio", "errors", "job")}}
    for nice, run in runs.items():
        during = run["during_job_ms"]
        met = "yes" if run["p95_ratio"] is not None and run["p95_ratio"] <= 2 and not run["errors"] else "**no**"
        rows.append([f"while a job ingests, worker nice {nice}", fmt(during["p50"]), fmt(during["p95"]),
                     f"× {fmt(run['p95_ratio'], 2)} ({met})", during["n"], run["errors"],
                     fmt(run["job"]["chunks_per_s"], 2)])  # fmt: skip
    threads = "every core" if not data["worker_threads"] else f"{data['worker_threads']} thread(s)"
    return (
        "**Search while a job ingests** (`python -m bench.jobs_latency`). "
        f"{data['clients']} client threads share one `SearchService` (as the sessions of one UI process do) and "
        f"send up to {data['queries_per_client']} plain searches each over {data['base_chunks']} chunks, first "
        f"idle, then while a real `babelsearch worker` process on {threads} ingests a job into the same data "
        "directory, once for each worker priority (`worker_nice`; 10 is the product's default). Only queries "
        "made while the job runs count. Target: p95 while a job runs ≤ 2 × idle, zero errors.\n\n"
        + table(["phase", "p50 ms", "p95 ms", "p95 vs idle (target met)", "queries", "errors", "job chunks/s"],
                rows)  # fmt: skip
        + f"\nEvery chunk has its vector at the end: {fmt(data['vectors_equal_chunks'])}.\n"
    )


def _throughput(data: dict[str, Any]) -> str:
    rows = [[name, row["jobs"], row["workers_used"], row["chunks"], fmt(row["seconds"]), fmt(row["chunks_per_s"], 2),
             f"× {fmt(row['vs_one_thread'], 2)}"] for name, row in data["layouts"].items()]  # fmt: skip
    return (
        "\n**Ingest throughput by worker layout** (`python -m bench.jobs_throughput`). The same "
        f"{data['files']} generated files, split into {data['jobs']} jobs, ingested into a fresh data directory "
        f"by each layout of real worker processes on {data['cores']} cores, from the first job's start to the last "
        "one's end (model loading left out).\n\n"
        + table(["layout", "jobs", "workers that took jobs", "chunks", "seconds", "chunks/s", "vs 1 thread"], rows)
    )
