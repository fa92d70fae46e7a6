"""Ingest throughput of background jobs by worker layout (``python -m bench.jobs_throughput``).

The same generated files, split into as many jobs as there are workers at most, are ingested by real
``babelsearch worker`` processes into a fresh data directory for each layout: one worker on one thread, one
worker on every core, and one single-threaded worker per core. Throughput counts from the first job's start to
the last job's end (model loading is left out), so the layouts compare the ingest itself.
"""

from __future__ import annotations

import argparse
import io
import logging
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.env import RESULTS, ratio, run_standalone
from bench.jobs_latency import _text, _worker

logger = logging.getLogger(__name__)


def _layouts(cores: int) -> dict[str, tuple[int, int]]:
    """Layout name -> (worker processes, threads each)."""
    return {"1 worker × 1 thread": (1, 1), f"1 worker × {cores} threads": (1, cores),
            f"{cores} workers × 1 thread": (cores, 1)}  # fmt: skip


def _measure(args: argparse.Namespace, workers: int, threads: int, root: Path) -> dict[str, Any]:
    from app.service import SearchService
    from indexer.config import load_settings

    home = root / f"home-{workers}x{threads}"
    service = SearchService(load_settings(str(home), environ={}, threads=1))
    per_job = -(-args.files // args.jobs)
    files = [(f"file-{n:03d}.txt", _text(5000 + n, args.sentences).encode()) for n in range(args.files)]
    jobs = [service.enqueue_upload([(name, io.BytesIO(data)) for name, data in files[i : i + per_job]], "bulk")
            for i in range(0, len(files), per_job)]  # fmt: skip
    procs = [_worker(home, threads, home / f"worker-{n}.log") for n in range(workers)]
    try:
        deadline = time.monotonic() + args.timeout
        while not all(service.job(j).finished for j in jobs):
            if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                raise RuntimeError(f"layout {workers}x{threads}: the jobs did not finish ({home}/worker-*.log)")
            time.sleep(0.2)
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=60)
    done = [service.job(j) for j in jobs]
    service.close()
    seconds = (max(j.finished_at for j in done) - min(j.started_at for j in done)).total_seconds()
    chunks = sum(j.chunks_done for j in done)
    states = sorted({j.state for j in done})
    logger.info("%d worker(s) × %d thread(s): %d chunks in %.1f s (%.2f chunks/s), jobs %s",
                workers, threads, chunks, seconds, chunks / seconds, states)  # fmt: skip
    return {"workers": workers, "threads": threads, "jobs": len(jobs), "states": states, "chunks": chunks,
            "seconds": round(seconds, 1), "chunks_per_s": round(chunks / seconds, 2),
            "workers_used": len({j.worker for j in done})}  # fmt: skip


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Ingest the same job files with each worker layout.

    Args:
        args: the parsed command line.

    Returns:
        The measurements.
    """
    cores = args.cores or os.cpu_count() or 1
    layouts = {}
    with tempfile.TemporaryDirectory(prefix="bench-jobs-throughput-") as tmp:
        for name, (workers, threads) in _layouts(cores).items():
            layouts[name] = _measure(args, workers, threads, Path(tmp))
    base = layouts["1 worker × 1 thread"]["chunks_per_s"]
    for row in layouts.values():
        row["vs_one_thread"] = ratio(row["chunks_per_s"], base)
    return {"files": args.files, "jobs": args.jobs, "sentences": args.sentences, "cores": cores, "layouts": layouts}


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench.jobs_throughput", description=__doc__)
    p.add_argument("--files", type=int, default=48, help="files ingested by each layout")
    p.add_argument("--jobs", type=int, default=4, help="jobs the files are split into")
    p.add_argument("--sentences", type=int, default=60, help="sentences per generated file")
    p.add_argument("--cores", type=int, default=0, help="cores to lay out (0: all of this machine's)")
    p.add_argument("--timeout", type=float, default=1800, help="seconds a layout may take")
    p.add_argument("--threads", type=int, default=1, help="CPU threads of this process (enqueueing only)")
    p.add_argument("--out", type=Path, default=RESULTS / "jobs_throughput.json", help="the result file")
    return p


if __name__ == "__main__":
    raise SystemExit(run_standalone(_parser(), run))
