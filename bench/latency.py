"""Query latency of SearchService.search at 10k, 100k and 1M chunks, against a hand-written baseline."""

from __future__ import annotations

import gc
import logging
import os
import shutil
import time
from pathlib import Path
from typing import Any

from bench import synthetic
from bench.data import XQUAD_LANGS, load_xquad
from bench.env import Context, file_mb, peak_rss_mb, percentiles, ratio, rss_mb, write_result
from bench.xquad_systems import supported
from indexer.errors import BabelSearchError

logger = logging.getLogger(__name__)

NAME = "latency"
SIZES = {"quick": {"chunks": (2_000,), "queries": 6, "batch_queries": 16},
         "full": {"chunks": (10_000, 100_000, 1_000_000), "queries": 60, "batch_queries": 128},
         "complete": {"chunks": (10_000, 100_000, 1_000_000), "queries": 200, "batch_queries": 256}}
#: Search modes timed at every size: (name, keyword arguments, share of the query count).
MODES = [("plain", {}, 1.0), ("language filter", {"languages": ["de"]}, 0.5), ("balanced", {"balanced": True}, 0.2),
         ("hybrid", {"hybrid": True}, 0.2), ("rerank", {"rerank": True}, 0.1)]
WARM_UP = 3
#: Free disk and memory needed per million chunks (SQLite with text and keyword index, FAISS, rebuild peak).
NEEDS_GB_PER_MILLION = {"disk": 12.0, "memory": 8.0}


def run(ctx: Context) -> dict[str, Any]:
    """Build indexes of increasing size and time end-to-end searches on each.

    Args:
        ctx: the run context.

    Returns:
        The result written to ``latency.json``.
    """
    started = time.perf_counter()
    size = SIZES[ctx.size]
    xquad = load_xquad(ctx.options.eval_dir, XQUAD_LANGS, questions_per_paragraph=1)
    texts = [t for lang in XQUAD_LANGS for t in xquad.paragraphs[lang]]
    queries = [q.text for i in range(len(xquad.questions["en"])) for lang in XQUAD_LANGS
               for q in xquad.questions[lang][i:i + 1]]
    ctx.embedder.encode_queries(queries[:2])  # first-call costs are not timed
    sizes = {}
    for n in size["chunks"]:
        skip = _lacks_room(ctx.options.work_dir, n)
        sizes[str(n)] = {"skipped": skip} if skip else _one_size(ctx, n, texts, queries, size["queries"])
        gc.collect()
    settings = ctx.settings(ctx.options.work_dir / "unused-home")
    result = {"config": {"sizes": list(size["chunks"]), "queries": size["queries"], "k": 10,
                         "rerank_k": getattr(settings, "rerank_k", None),
                         "rerank_budget_ms": getattr(settings, "rerank_budget_ms", None),
                         "vectors": "random unit float32 (dim of the model), texts: XQuAD paragraphs in turn",
                         "baseline": "encode_query + faiss IndexFlatIP.search + texts from a Python list"},
              "sizes": sizes, "query_batching": _batching(ctx, queries[: size["batch_queries"]]),
              "threads": _threads(ctx, queries[: size["batch_queries"]])}
    write_result(ctx, NAME, result, started)
    return result


def _lacks_room(work: Path, n: int) -> str | None:
    need = {key: value * max(n, 100_000) / 1e6 for key, value in NEEDS_GB_PER_MILLION.items()}
    free_disk = shutil.disk_usage(work).free / 2**30
    free_mem = _available_memory_gb()
    if free_disk < need["disk"]:
        return f"needs ~{need['disk']:.0f} GB of disk, {free_disk:.0f} GB free"
    if free_mem is not None and free_mem < need["memory"]:
        return f"needs ~{need['memory']:.0f} GB of memory, {free_mem:.0f} GB available"
    return None


def _available_memory_gb() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return None


def _one_size(ctx: Context, n: int, texts: list[str], queries: list[str], n_queries: int) -> dict[str, Any]:
    from app.service import SearchService

    home = ctx.options.work_dir / f"latency-{n}"
    service = SearchService(ctx.settings(home), ctx.embedder)
    service.indexer.vectors  # records the model in the empty index
    out: dict[str, Any] = {"build": synthetic.fill(service.store, n, ctx.embedder.dim, texts, list(XQUAD_LANGS))}
    rss0 = rss_mb()
    t0 = time.perf_counter()
    service.indexer.vectors  # the cache sees a new generation and rebuilds from the stored embeddings
    out["build"]["index_rebuild_s"] = round(time.perf_counter() - t0, 1)
    vectors_mb = service.indexer.vectors.index.count() * ctx.embedder.dim * 4 / 2**20
    out["memory"] = {"rss_before_index_mb": round(rss0, 1), "rss_after_index_mb": round(rss_mb(), 1),
                     "index_vectors_mb": round(vectors_mb, 1)}
    t0 = time.perf_counter()
    service.search(queries[0], k=10)
    out["first_query_ms"] = round((time.perf_counter() - t0) * 1000, 1)
    warm = 1 if ctx.quick else WARM_UP
    out["modes"] = _modes(service, queries, n_queries, warm)
    service.close()
    out["disk_mb"] = {"sqlite": file_mb(*(home / f"babelsearch.db{s}" for s in ("", "-wal", "-shm"))),
                      "faiss": file_mb(*home.glob("vectors.*"))}
    out["cold_open_s"] = _cold_open(ctx, home)
    out["memory"]["peak_rss_mb"] = round(peak_rss_mb(), 1)
    shutil.rmtree(home, ignore_errors=True)
    del service
    gc.collect()
    out["baseline"] = _baseline(ctx, n, texts, queries[:n_queries], warm)
    plain = out["modes"]["plain"]
    out["p50_ratio_product_vs_baseline"] = ratio(plain["wall_ms"]["p50"], out["baseline"]["wall_ms"]["p50"])
    logger.info("latency %d: %s", n, out)
    return out


def _modes(service: Any, queries: list[str], n_queries: int, warm: int) -> dict[str, Any]:
    out = {}
    for name, kwargs, share in MODES:
        if not supported(kwargs, service.search):
            continue
        count = max(3, int(n_queries * share))
        walls, inner = [], []
        try:
            for i, query in enumerate(queries[:count + warm]):
                t0 = time.perf_counter()
                response = service.search(query, k=10, **kwargs)
                if i >= warm:
                    walls.append((time.perf_counter() - t0) * 1000)
                    inner.append(response.elapsed_ms)
        except BabelSearchError as e:  # e.g. a mode whose model is not installed: recorded, not fatal
            logger.warning("latency mode %s failed: %s", name, e)
            out[name] = {"kwargs": kwargs, "error": f"{e.__class__.__name__}: {e}"}
            continue
        out[name] = {"kwargs": kwargs, "wall_ms": percentiles(walls), "service_elapsed_ms": percentiles(inner)}
    return out


def _cold_open(ctx: Context, home: Path) -> float:
    # A new service on the same data directory: reads the saved FAISS file instead of rebuilding.
    from app.service import SearchService

    t0 = time.perf_counter()
    service = SearchService(ctx.settings(home), ctx.embedder)
    service.indexer.vectors
    seconds = time.perf_counter() - t0
    service.close()
    return round(seconds, 2)


def _baseline(ctx: Context, n: int, texts: list[str], queries: list[str], warm: int) -> dict[str, Any]:
    import faiss

    model = ctx.direct_model
    index = faiss.IndexFlatIP(ctx.embedder.dim)
    for batch in synthetic.vectors(n, ctx.embedder.dim):
        index.add(batch)
    model.encode_query(queries[:warm])
    walls = []
    for query in queries:
        t0 = time.perf_counter()
        vector = model.encode_query([query])
        _, found = index.search(vector, 10)
        _ = [texts[int(i) % len(texts)] for i in found[0] if i >= 0]
        walls.append((time.perf_counter() - t0) * 1000)
    del index
    return {"wall_ms": percentiles(walls)}


def _threads(ctx: Context, queries: list[str]) -> dict[str, Any]:
    """Query embedding speed with one torch thread and with one per core, on the machine as loaded now."""
    import torch

    before, out = torch.get_num_threads(), {}
    try:
        for n in sorted({1, os.cpu_count() or 1}):
            torch.set_num_threads(n)
            ctx.embedder.encode_queries(queries[:4])
            t0 = time.perf_counter()
            for start in range(0, len(queries), 32):
                ctx.embedder.encode_queries(queries[start:start + 32])
            out[str(n)] = round(len(queries) / (time.perf_counter() - t0), 1)
    finally:
        torch.set_num_threads(before)
    return {"queries_per_s_by_threads": out, "default_threads": before, "load_average": os.getloadavg()[0],
            "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY")}


def _batching(ctx: Context, queries: list[str]) -> dict[str, Any]:
    """Query embedding: the product's one-batch ``encode_queries`` against batches of 32."""
    embedder = ctx.embedder
    t0 = time.perf_counter()
    embedder.encode_queries(queries)
    t1 = time.perf_counter()
    embedder.model.encode(queries, prompt=embedder.prompts.get("query", ""), batch_size=32,
                          normalize_embeddings=True, show_progress_bar=False)
    t2 = time.perf_counter()
    return {"queries": len(queries), "encode_queries_one_batch_s": round(t1 - t0, 2),
            "batches_of_32_s": round(t2 - t1, 2), "slowdown": ratio(t1 - t0, t2 - t1)}
