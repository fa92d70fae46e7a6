"""Search latency while an ingest job runs in a worker process vs idle (``python -m bench.jobs_latency``).

Four client threads search one shared SearchService, as the sessions of one UI process do; a real
``babelsearch worker`` subprocess ingests a job of generated files into the same data directory meanwhile,
once per worker priority (``worker_nice``: 0 = the same priority as the UI, 10 = the product's default).
Idle and busy are measured in the same run, so their ratios hold on a shared machine.
"""

from __future__ import annotations

import argparse
import io
import logging
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from bench.env import RESULTS, ROOT, percentiles, ratio, run_standalone

logger = logging.getLogger(__name__)

WORDS = (
    "river dam rain flood town bridge school market harvest coffee farmer train station night winter summer "
    "engineer wall crack water street boat rescue family doctor hospital road mountain valley forest fire "
    "village mayor council report storm wind power grid solar panel roof library book child teacher"
).split()
QUERIES = ["why did the dam break after the rain", "Wer hat die Familien mit Booten gerettet?",
           "panneaux solaires sur le toit de l'école", "el tren nocturno de invierno", "洪水后学校关闭了吗",
           "mayor and council report on the storm"]  # fmt: skip


def _text(seed: int, sentences: int) -> str:
    rng = random.Random(seed)
    sentence = lambda: " ".join(rng.choice(WORDS) for _ in range(12)) + "."  # noqa: E731
    return f"Report {seed}. " + " ".join(sentence() for _ in range(sentences))


def _clients(service, clients: int, per_client: int, until: threading.Event | None) -> tuple[list[float], int]:
    """``clients`` threads searching; each stops after ``per_client`` queries or when ``until`` is set."""
    times: list[float] = []
    errors = [0]
    lock = threading.Lock()

    def client(n: int) -> None:
        for i in range(per_client):
            if until is not None and until.is_set():
                return
            t0 = time.perf_counter()
            try:
                service.search(QUERIES[(n + i) % len(QUERIES)], k=10)
            except Exception:  # counted: the target is zero
                logger.exception("search failed")
                errors[0] += 1
                continue
            with lock:
                times.append(1000 * (time.perf_counter() - t0))

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return times, errors[0]


def _worker(home: Path, threads: int, log: Path, nice: int = 0) -> subprocess.Popen:
    env = {**os.environ, "BABELSEARCH_HOME": str(home), "BABELSEARCH_THREADS": str(threads),
           "BABELSEARCH_WORKER_NICE": str(nice), "PYTHONPATH": str(ROOT)}  # fmt: skip
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "-m", "app.cli", "-v", "worker"], cwd=ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT)  # fmt: skip


def _busy(service, args: argparse.Namespace, home: Path, nice: int) -> dict[str, Any]:
    files = [(f"job-{nice}-{n:03d}.txt", io.BytesIO(_text(1000 * (nice + 1) + n, args.sentences).encode()))
             for n in range(args.files)]  # fmt: skip
    job_id = service.enqueue_upload(files, f"job-{nice}")
    proc = _worker(home, args.worker_threads, home / "worker.log", nice)
    try:
        while service.job(job_id).chunks_done == 0:  # the worker has loaded its model and is embedding
            if proc.poll() is not None:
                raise RuntimeError(f"the worker exited: {(home / 'worker.log').read_text()[-2000:]}")
            time.sleep(0.2)
        finished = threading.Event()

        def watch() -> None:
            while not service.job(job_id).finished:
                time.sleep(0.2)
            finished.set()

        threading.Thread(target=watch, daemon=True).start()
        # Only queries made while the job runs count: the clients stop when it ends.
        times, errors = _clients(service, args.clients, args.queries, until=finished)
        still_running = not finished.is_set()
        finished.wait()
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    job = service.job(job_id)
    seconds = (job.finished_at - job.started_at).total_seconds()
    return {"times": times, "errors": errors, "job_running_at_end": still_running,
            "job": {"state": job.state, "files": job.files_total, "chunks": job.chunks_done,
                    "seconds": round(seconds, 1), "chunks_per_s": round(job.chunks_done / seconds, 1)}}  # fmt: skip


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Measure idle search latency, then latency while a worker ingests a job.

    Args:
        args: the parsed command line.

    Returns:
        The measurements.
    """
    from app.service import SearchService
    from indexer.config import load_settings

    with tempfile.TemporaryDirectory(prefix="bench-jobs-") as tmp:
        home = Path(tmp) / "home"
        service = SearchService(load_settings(str(home), environ={}, threads=args.threads or None))
        base = [(f"base-{n:03d}.txt", io.BytesIO(_text(n, args.sentences).encode())) for n in range(args.base)]
        folder = Path(tmp) / "base"
        folder.mkdir()
        for name, data in base:
            (folder / name).write_bytes(data.getvalue())
        service.ingest([folder], "base")
        _clients(service, 1, 5, None)  # warm-up
        idle_times, idle_errors = _clients(service, args.clients, args.queries, None)
        base_chunks = service.stats().chunks
        # One job per worker priority, in the order given; the product's worker_nice default is the last.
        busy = {nice: _busy(service, args, home, nice) for nice in args.worker_nice}
        stats = service.stats()
        service.close()
    idle = percentiles(idle_times)
    runs = {}
    for nice, run_ in busy.items():
        during = percentiles(run_.pop("times"))
        logger.info("worker nice %d: idle p50 %.0f / p95 %.0f ms; during the job p50 %.0f / p95 %.0f ms; %d errors",
                    nice, idle["p50"], idle["p95"], during["p50"], during["p95"], run_["errors"])  # fmt: skip
        runs[str(nice)] = {"during_job_ms": during, "p95_ratio": ratio(during["p95"], idle["p95"]),
                           "p50_ratio": ratio(during["p50"], idle["p50"]), **run_}  # fmt: skip
    return {"clients": args.clients, "queries_per_client": args.queries, "worker_threads": args.worker_threads,
            "base_chunks": base_chunks, "idle_ms": idle, "idle_errors": idle_errors, "by_worker_nice": runs,
            "errors": idle_errors + sum(r["errors"] for r in runs.values()),
            "vectors_equal_chunks": stats.vectors == stats.chunks}  # fmt: skip


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench.jobs_latency", description=__doc__)
    p.add_argument("--clients", type=int, default=4)
    p.add_argument("--queries", type=int, default=125, help="queries per client in each phase")
    p.add_argument("--base", type=int, default=20, help="files ingested before measuring")
    p.add_argument("--files", type=int, default=60, help="files in the job")
    p.add_argument("--sentences", type=int, default=60, help="sentences per generated file")
    p.add_argument("--worker-threads", type=int, default=0, help="CPU threads of the worker's model (0: all cores)")
    p.add_argument("--worker-nice", type=lambda v: [int(x) for x in v.split(",")], default=[0, 10],
                   help="worker priorities (nice values) to measure, one job each, e.g. 0,10")
    p.add_argument("--threads", type=int, default=1, help="CPU threads of the searching process's model")
    p.add_argument("--out", type=Path, default=RESULTS / "jobs_latency.json", help="the result file")
    return p


if __name__ == "__main__":
    raise SystemExit(run_standalone(_parser(), run))
