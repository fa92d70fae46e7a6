"""Query latency of SearchService.search at 10k, 100k and 1M chunks, against a hand-written baseline."""

from __future__ import annotations

import gc
import json
import logging
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench import ann, synthetic
from bench.data import XQUAD_LANGS, load_xquad
from bench.env import Context, file_mb, percentiles, ratio, run_json_child, write_result

logger = logging.getLogger(__name__)

NAME = "latency"
SIZES = {"quick": {"chunks": (2_000,), "queries": 6, "batch_queries": 16},
         "full": {"chunks": (10_000, 100_000, 1_000_000), "queries": 60, "batch_queries": 128},
         "complete": {"chunks": (10_000, 100_000, 1_000_000), "queries": 200, "batch_queries": 256}}
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
    real = _real_vectors(ctx, texts)
    sizes = {}
    for n in size["chunks"]:
        skip = _lacks_room(ctx.options.work_dir, n)
        sizes[str(n)] = {"skipped": skip} if skip else _one_size(ctx, n, real, texts, queries, size["queries"])
        gc.collect()
    settings = ctx.settings(ctx.options.work_dir / "unused-home")
    result = {"config": {"sizes": list(size["chunks"]), "queries": size["queries"], "k": 10,
                         "rerank_k": getattr(settings, "rerank_k", None),
                         "rerank_budget_ms": getattr(settings, "rerank_budget_ms", None),
                         "threads": ctx.options.threads, "real_vectors": int(len(real[0])),
                         "vectors": "real e5 embeddings of XQuAD paragraphs and Tatoeba sentences, grown by points "
                                    "between two real vectors of one language (as in section 8)",
                         "texts": "XQuAD paragraphs in turn",
                         "baseline": "encode_query + faiss IndexFlatIP.search + texts from a Python list"},
              "sizes": sizes, "query_batching": _batching(ctx, queries[: size["batch_queries"]]),
              "threads": _threads(ctx, queries[: size["batch_queries"]])}
    write_result(ctx, NAME, result, started)
    return result


def _real_vectors(ctx: Context, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Real corpus vectors and their languages, which ``bench.ann.expand`` grows to each size."""
    if ctx.quick:  # a few paragraphs embedded here: the smoke test does not embed the whole evaluation set
        per_lang = len(texts) // len(XQUAD_LANGS)
        picked = [n * per_lang + j for n in range(len(XQUAD_LANGS)) for j in range(min(10, per_lang))]
        vectors = ctx.embedder.encode_documents([texts[i] for i in picked])
        return vectors, np.array([XQUAD_LANGS[i // per_lang] for i in picked])
    real = ann.real_embeddings(ctx.options.eval_dir, ctx.settings(ctx.options.work_dir / "unused-home").cache_path)
    return real["corpus"], real["corpus_lang"]


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


def _one_size(ctx: Context, n: int, real: tuple[np.ndarray, np.ndarray], texts: list[str], queries: list[str],
              n_queries: int) -> dict[str, Any]:  # fmt: skip
    from app.service import SearchService

    home = ctx.options.work_dir / f"latency-{n}"
    shutil.rmtree(home, ignore_errors=True)
    if n <= len(real[0]):  # a sample of the real vectors
        rows = np.sort(np.random.default_rng(0).choice(len(real[0]), n, replace=False))
        vectors, langs = real[0][rows], real[1][rows]
    else:
        vectors, langs = ann.expand(*real, n)
    service = SearchService(ctx.settings(home))  # the product's default embedder, as the service process uses
    service.indexer.vectors  # records the model in the empty index
    out: dict[str, Any] = {"build": synthetic.fill(service.store, n, ctx.embedder.dim, texts, [],
                                                   given=(vectors, langs))}
    service.close()
    for saved in home.glob("vectors.*"):
        saved.unlink()  # the service process builds the index from the stored embeddings, as after an import
    warm = 1 if ctx.quick else WARM_UP
    served = _child(ctx, "serve", home, queries, n_queries, warm)
    out.update({key: served[key] for key in ("structure", "first_query_ms", "modes", "memory")})
    out["build"]["index_rebuild_s"] = served["index_build_s"]
    out["recall_at_10"] = _recall(vectors, langs, served["found"])
    out["disk_mb"] = {"sqlite": file_mb(*(home / f"babelsearch.db{s}" for s in ("", "-wal", "-shm"))),
                      "faiss": file_mb(*home.glob("vectors.*"))}
    out["cold_start"] = _child(ctx, "cold", home, queries, n_queries, warm)
    out["started"] = _child(ctx, "started", home, queries, n_queries, warm)
    shutil.rmtree(home, ignore_errors=True)
    out["baseline"] = _baseline(ctx, vectors, texts, queries[:n_queries], warm)
    del vectors
    plain = out["modes"]["plain"]
    out["p50_ratio_product_vs_baseline"] = ratio(plain["wall_ms"]["p50"], out["baseline"]["wall_ms"]["p50"])
    logger.info("latency %d: %s", n, out)
    return out


def _child(ctx: Context, step: str, home: Path, queries: list[str], n_queries: int, warm: int) -> dict[str, Any]:
    """Run one step of ``bench.latency_worker`` in a new process (its memory and start-up are the service's)."""
    listed, out = home.with_suffix(".queries.json"), home.with_suffix(f".{step}.json")
    listed.write_text(json.dumps(queries), encoding="utf-8")
    cmd = [sys.executable, "-m", "bench.latency_worker", step, str(home), str(listed), str(out),
           "--threads", str(ctx.options.threads), "--queries", str(n_queries), "--warm", str(warm)]
    return run_json_child(cmd, out, f"latency {step}")


def _recall(vectors: np.ndarray, langs: np.ndarray, found: dict[str, Any]) -> dict[str, float]:
    """Share of the exact top 10 (same vectors, same filter) among the service's results, per recalled mode."""
    vectors = vectors.astype(np.float16).astype(np.float32)  # as the store keeps them
    out = {}
    for mode, got in found.items():
        allowed = np.flatnonzero(langs == "de") if mode == "language filter" else None
        truth = ann.exact_top(vectors, np.array(got["vectors"], np.float32), allowed) + 1  # ids count from 1
        shares = [len(set(f) & set(t.tolist())) / len(t) for f, t in zip(got["ids"], truth)]
        out[mode] = round(float(np.mean(shares)), 4)
    return out


def _baseline(ctx: Context, vectors: np.ndarray, texts: list[str], queries: list[str], warm: int) -> dict[str, Any]:
    import faiss

    model = ctx.direct_model
    index = faiss.IndexFlatIP(ctx.embedder.dim)
    index.add(vectors)
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
