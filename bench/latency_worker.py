"""The service side of the latency benchmark, in its own process, so that its memory and start-up are its own.

Usage: ``python -m bench.latency_worker STEP HOME QUERIES.json OUT.json [--threads N] [--queries N]``.
STEP ``serve`` opens the filled data directory, lets the vector cache build its index from the stored
embeddings, then times every search mode; ``cold`` is a fresh start on the same directory (the saved index):
the model load and the first query, each timed; ``started`` is a fresh start as the UI makes it (``warm_up``
loads the models, the vector index and the profiles in the background) and the first query after it.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.env import peak_rss_mb, percentiles, rss_mb

#: Search modes timed at every size: (name, keyword arguments, share of the query count).
MODES = [("plain", {}, 1.0), ("language filter", {"languages": ["de"]}, 0.5), ("balanced", {"balanced": True}, 0.2),
         ("hybrid", {"hybrid": True}, 0.2), ("rerank", {"rerank": True}, 0.1)]
#: Modes whose result ids go back to the parent, which compares them with an exact search.
RECALLED = ("plain", "language filter")
WARM_UP = 3


def _service(home: Path, threads: int) -> Any:
    from app.service import SearchService
    from indexer.config import load_settings

    return SearchService(load_settings(str(home), environ={}, threads=threads or None))


def serve(home: Path, queries: list[str], n_queries: int, threads: int, warm: int) -> dict[str, Any]:
    """Build the index from the stored embeddings, then time each search mode.

    Args:
        home: a filled data directory without a saved vector index.
        queries: query texts (the first ``warm`` of each mode are not timed).
        n_queries: plain-search queries timed (other modes time their share of it).
        threads: CPU threads (0: all cores).
        warm: untimed queries before each mode.

    Returns:
        Build seconds, memory, first query, per-mode timings and result ids.
    """
    service = _service(home, threads)
    service.indexer.embedder.encode_queries(queries[:2])  # the model is loaded and warm before the build
    rss0 = rss_mb()
    t0 = time.perf_counter()
    vectors = service.indexer.vectors  # no saved index: built from the stored embeddings
    out: dict[str, Any] = {"index_build_s": round(time.perf_counter() - t0, 1), "structure": vectors.describe()}
    out["memory"] = {"rss_before_index_mb": round(rss0, 1), "rss_after_index_mb": round(rss_mb(), 1),
                     "index_vectors_mb": round(vectors.count() * vectors.dim * 4 / 2**20, 1)}
    t0 = time.perf_counter()
    service.search(queries[0], k=10)
    out["first_query_ms"] = round((time.perf_counter() - t0) * 1000, 1)
    out["modes"], out["found"] = {}, {}
    for name, kwargs, share in MODES:
        count = max(3, int(n_queries * share))
        walls, inner, found = [], [], []
        try:
            for i, query in enumerate(queries[:count + warm]):
                t0 = time.perf_counter()
                response = service.search(query, k=10, **kwargs)
                if i >= warm:
                    walls.append((time.perf_counter() - t0) * 1000)
                    inner.append(response.elapsed_ms)
                    found.append([r.chunk_id for r in response.results])
        except Exception as e:  # noqa: BLE001 - e.g. a mode whose model is not installed: recorded, not fatal
            out["modes"][name] = {"kwargs": kwargs, "error": f"{e.__class__.__name__}: {e}"}
            continue
        out["modes"][name] = {"kwargs": kwargs, "wall_ms": percentiles(walls),
                              "service_elapsed_ms": percentiles(inner)}
        if name in RECALLED:
            # One query a call, as search() embeds it: int8 activations are quantised per batch, so a query
            # embedded among others (with padding) lands a little elsewhere and the exact top 10 would shift.
            asked = queries[warm:count + warm]
            encode = service.indexer.embedder.encode_queries
            out["found"][name] = {"ids": found,
                                  "vectors": np.concatenate([encode([q]) for q in asked]).round(6).tolist()}
    service.close()
    out["memory"]["peak_rss_mb"] = round(peak_rss_mb(), 1)
    return out


def cold(home: Path, queries: list[str], threads: int) -> dict[str, Any]:
    """A new process on a data directory with a saved index: the model load and the first query, timed apart.

    Args:
        home: the data directory ``serve`` left.
        queries: the first one is asked.
        threads: CPU threads (0: all cores).

    Returns:
        Seconds to load the models (embedder and language detector), milliseconds of the first query (vector
        index and language profiles loaded from disk) and of the second.
    """
    t0 = time.perf_counter()
    service = _service(home, threads)
    service.load_models()
    service.indexer.embedder.encode_queries(queries[1:2])
    model_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    service.search(queries[0], k=10)
    first = time.perf_counter() - t1
    t2 = time.perf_counter()
    service.search(queries[2], k=10)
    second = time.perf_counter() - t2
    service.close()
    return {"model_load_s": round(model_s, 2), "first_query_ms": round(first * 1000, 1),
            "second_query_ms": round(second * 1000, 1), "peak_rss_mb": round(peak_rss_mb(), 1)}


def started(home: Path, queries: list[str], threads: int) -> dict[str, Any]:
    """A new process that starts as the UI does (``warm_up``: models, vector index, profiles), then searches.

    Args:
        home: the data directory ``serve`` left.
        queries: the first one is asked.
        threads: CPU threads (0: all cores).

    Returns:
        Seconds of the warm-up and milliseconds of the first query after it.
    """
    t0 = time.perf_counter()
    service = _service(home, threads)
    service.warm_up()
    warm_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    service.search(queries[0], k=10)
    first = time.perf_counter() - t1
    service.close()
    return {"warm_up_s": round(warm_s, 2), "first_query_ms": round(first * 1000, 1)}


def main(argv: list[str] | None = None) -> int:
    """Command line."""
    p = argparse.ArgumentParser(prog="python -m bench.latency_worker")
    p.add_argument("step", choices=("serve", "cold", "started"))
    p.add_argument("home", type=Path)
    p.add_argument("queries", type=Path, help="JSON list of query texts")
    p.add_argument("out", type=Path)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--queries", type=int, default=60, dest="n_queries", help="plain-search queries timed")
    p.add_argument("--warm", type=int, default=WARM_UP)
    args = p.parse_args(argv)
    queries = json.loads(args.queries.read_text(encoding="utf-8"))
    if args.step == "serve":
        result = serve(args.home, queries, args.n_queries, args.threads, args.warm)
    elif args.step == "cold":
        result = cold(args.home, queries, args.threads)
    else:
        result = started(args.home, queries, args.threads)
    args.out.write_text(json.dumps(result), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
