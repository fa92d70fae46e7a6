"""``python -m bench``: run the benchmarks, write bench/results/*.json and regenerate BENCHMARKS.md."""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.env import EVAL_DIR, RESULTS, ROOT, Context, RunOptions, set_threads, setup_logging

logger = logging.getLogger("bench")


def _registry() -> dict[str, Callable[[Context], Any]]:
    from bench import backends, crosslang, ingest, latency, tatoeba, xquad

    # Latency last: its million-chunk index is the largest thing in memory.
    return {"xquad": xquad.run, "crosslang": crosslang.run, "tatoeba": tatoeba.run, "ingest": ingest.run,
            "backends": backends.run, "latency": latency.run}


def _parser(names: list[str]) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    size = p.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="tiny sizes: a smoke test of every benchmark")
    size.add_argument("--complete", action="store_true",
                      help="all 1190 XQuAD questions, more search-mode queries and ingest rounds (slower)")
    p.add_argument("--only", action="append", choices=names, help="run only this benchmark (repeatable)")
    p.add_argument("--eval-dir", type=Path, default=EVAL_DIR, help=f"evaluation data (default: {EVAL_DIR})")
    p.add_argument("--results-dir", type=Path, help="where JSON and plots go (default: bench/results, "
                                                     "or a folder under the work dir with --quick)")
    p.add_argument("--report", type=Path, help="Markdown report to regenerate (default: BENCHMARKS.md, "
                                               "or one in the results dir with --quick)")
    p.add_argument("--work-dir", type=Path, help="scratch space for indexes (default: a temporary folder)")
    p.add_argument("--threads", type=int, default=0, help="torch threads (default: torch's own choice)")
    p.add_argument("--keep", action="store_true", help="keep the scratch folder")
    p.add_argument("--report-only", action="store_true", help="regenerate the report from existing results")
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the selected benchmarks and regenerate the report.

    Args:
        argv: command-line arguments (default: sys.argv[1:]).

    Returns:
        0 when every benchmark ran, 1 otherwise.
    """
    registry = _registry()
    args = _parser(list(registry)).parse_args(argv)
    setup_logging()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    work = args.work_dir or Path(tempfile.mkdtemp(prefix="babelsearch-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    results = args.results_dir or (work / "results" if args.quick else RESULTS)
    report = args.report or (results / "BENCHMARKS.md" if args.quick else ROOT / "BENCHMARKS.md")
    profile = "quick" if args.quick else "complete" if args.complete else "full"
    options = RunOptions(profile, args.eval_dir.resolve(), results.resolve(), report.resolve(), work.resolve(),
                         args.threads)
    set_threads(args.threads)
    names = [name for name in registry if not args.only or name in args.only]
    failed = [] if args.report_only else _run_all(Context(options), names, registry)
    from bench.report import write_report

    write_report(options.results_dir, options.report)
    if not args.keep and not args.work_dir:
        shutil.rmtree(work, ignore_errors=True)
    if failed:
        logger.error("failed: %s", ", ".join(failed))
    return 1 if failed else 0


def _run_all(ctx: Context, names: list[str], registry: dict[str, Callable[[Context], Any]]) -> list[str]:
    failed = []
    total = time.perf_counter()
    for name in names:
        t0 = time.perf_counter()
        logger.info("=== %s (%s)", name, ctx.size)
        try:
            registry[name](ctx)
        except Exception:  # one broken benchmark must not hide the others' results
            logger.exception("benchmark %s failed", name)
            failed.append(name)
        logger.info("=== %s done in %.1f s", name, time.perf_counter() - t0)
    logger.info("all done in %.1f s", time.perf_counter() - total)
    return failed


if __name__ == "__main__":
    sys.exit(main())
