"""Milvus Lite (FLAT, exact) against FAISS exact at 100k vectors: latency, agreement, build and start-up scans.

Both exact indexes scan every vector, so their cost does not depend on how the vectors are spread; the vectors are
the synthetic benchmark's unit vectors (``bench.synthetic.vectors``), the queries stored vectors with a little
noise (each has near neighbours, as a real query has). Chunks come in documents of ten, languages in turn per
document, as ``bench.synthetic.fill`` writes them: a language filter admits one twelfth of the ids in runs of
ten, a collection filter one contiguous tenth. Queries alternate which backend goes first, so a loaded machine
slows both alike; FAISS exact (``IndexFlatIP``, one thread) is the baseline of every ratio.

Run: ``python -m bench.milvus_latency [--n 100000]``; the result goes to bench/results/milvus_latency.json.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.env import peak_rss_mb, percentiles, ratio, run_standalone, standalone_parser
from bench.synthetic import CHUNKS_PER_DOCUMENT, vectors

NAME = "milvus_latency"
K = 10
DIM = 384
LANGUAGES = 12


def _corpus(n: int, queries: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    data = np.concatenate(list(vectors(n, DIM, seed)))
    rng = np.random.default_rng(seed + 1)
    q = data[rng.integers(0, n, queries)] + rng.standard_normal((queries, DIM), dtype=np.float32) * 0.05
    langs = (np.arange(n) // CHUNKS_PER_DOCUMENT) % LANGUAGES
    return data, (q / np.linalg.norm(q, axis=1, keepdims=True)).astype(np.float32), langs


def _filters(n: int, langs: np.ndarray, ids: np.ndarray) -> dict[str, np.ndarray | None]:
    return {"plain": None, "language": ids[langs == 3], "collection": ids[n // 2 : n // 2 + n // 10]}


def _build(make: Any, ids: np.ndarray, data: np.ndarray) -> tuple[Any, float]:
    index = make()
    t0 = time.perf_counter()
    index.index(ids, data)
    return index, time.perf_counter() - t0


def _race(indexes: dict[str, Any], queries: np.ndarray, allowed: np.ndarray | None) -> dict[str, Any]:
    """Each query on every index, the first one taking turns; times and top-k per index."""
    ms: dict[str, list[float]] = {name: [] for name in indexes}
    found: dict[str, list[np.ndarray]] = {name: [] for name in indexes}
    names = list(indexes)
    for n, q in enumerate(queries):
        for name in names[n % len(names) :] + names[: n % len(names)]:
            t0 = time.perf_counter()
            _, ids = indexes[name].search(q[None], K, allowed)
            ms[name].append((time.perf_counter() - t0) * 1000)
            found[name].append(ids[0])
    return {"ms": ms, "found": {name: np.array(rows) for name, rows in found.items()}}


def _compare(indexes: dict[str, Any], queries: np.ndarray, allowed: np.ndarray | None) -> dict[str, Any]:
    """Latency of every index and its agreement with FAISS exact, for one filter."""
    race = _race(indexes, queries, allowed)
    truth, base = race["found"]["faiss_exact"], percentiles(race["ms"]["faiss_exact"])
    row: dict[str, Any] = {"allowed": None if allowed is None else int(len(allowed))}
    for name in indexes:
        stats = percentiles(race["ms"][name])
        row[name] = {"ms": stats, "p50_vs_faiss": ratio(stats["p50"], base["p50"]),
                     **_agreement(race["found"][name], truth)}  # fmt: skip
    return row


def _agreement(found: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    same = float(np.mean([np.array_equal(f, t) for f, t in zip(found, truth)]))
    recall = float(np.mean([len(set(f[f >= 0]) & set(t)) / K for f, t in zip(found, truth)]))
    return {"identical_top10": round(same, 4), "recall10": round(recall, 4)}


def _scans(uri: str, collection: str) -> dict[str, float]:
    """Seconds of the calls the vector cache makes on start: attach (a new client), count, all ids."""
    from indexer.ann.milvus import MilvusIndex

    t0 = time.perf_counter()
    fresh = MilvusIndex(DIM, uri, collection)
    fresh.count()
    attach = time.perf_counter() - t0
    t0 = time.perf_counter()
    fresh.count()
    count = time.perf_counter() - t0
    t0 = time.perf_counter()
    held = len(fresh.ids())
    scan = time.perf_counter() - t0
    fresh.close()
    return {"attach_s": round(attach, 3), "count_ms": round(count * 1000, 2), "ids_s": round(scan, 2), "ids": held}


def measure(args: argparse.Namespace) -> dict[str, Any]:
    """Build both indexes over the same vectors, race them on the same queries, compare with FAISS exact."""
    import faiss
    from threadpoolctl import threadpool_limits

    from indexer.ann.faiss import FaissIndex
    from indexer.ann.milvus import MilvusIndex

    faiss.omp_set_num_threads(1)
    data, queries, langs = _corpus(args.n, args.queries)
    ids = np.arange(1, args.n + 1, dtype=np.int64)
    with tempfile.TemporaryDirectory(prefix="bench-milvus-", ignore_cleanup_errors=True) as tmp:
        uri = str(Path(tmp) / "milvus.db")
        makers = {"faiss_exact": lambda: FaissIndex(DIM, exact_below=args.n + 1),
                  "milvus_lite_flat": lambda: MilvusIndex(DIM, uri, "bench_flat", "FLAT")}  # fmt: skip
        # One BLAS thread: Milvus Lite's brute force is a NumPy product, FAISS runs on one OpenMP thread.
        with threadpool_limits(limits=1):
            builds, indexes = {}, {}
            for name, make in makers.items():
                indexes[name], builds[name] = _build(make, ids, data)
            rows = {
                mode: _compare(indexes, queries, allowed) for mode, allowed in _filters(args.n, langs, ids).items()
            }
            scans = _scans(uri, "bench_flat")
        for index in indexes.values():
            index.close()
    return {"config": {"n": args.n, "dim": DIM, "k": K, "queries": args.queries, "threads": 1,
                       "languages": LANGUAGES, "chunks_per_document": CHUNKS_PER_DOCUMENT,
                       "engine": f"milvus-lite {_version('milvus-lite')}, pymilvus {_version('pymilvus')}"},
            "build_s": {name: round(s, 1) for name, s in builds.items()}, "modes": rows, "milvus_start": scans,
            "peak_rss_mb": round(peak_rss_mb())}  # fmt: skip


def _version(package: str) -> str:
    from importlib.metadata import version

    return version(package)


def main(argv: list[str] | None = None) -> int:
    """Command line."""
    p = standalone_parser(NAME, __doc__, eval_dir=False)
    p.add_argument("--n", type=int, default=100_000, help="vectors in each index")
    p.add_argument("--queries", type=int, default=100, help="queries per filter mode")
    return run_standalone(p, measure, argv)


if __name__ == "__main__":
    raise SystemExit(main())
