"""Embedding backends side by side: torch fp32, ONNX fp32, ONNX int8 through the product, in one run.

Per backend: XQuAD cross-lingual Recall@10 (English→X and X→English) through ``SearchService``,
Tatoeba accuracy@1 through ``Embedder.encode_queries``, single-query embedding time on one thread,
and the cosine of its passage vectors to the torch ones (can indexes of two runtimes be mixed?).
"""

from __future__ import annotations

import gc
import logging
import time
from typing import Any

import numpy as np

from bench.data import TATOEBA_XNLI, load_tatoeba, load_xquad
from bench.env import Context, percentiles, write_result
from bench.metrics import accuracy_at_1
from bench.xquad_systems import ProductSystem, evaluate, tabulate, write_corpus

logger = logging.getLogger(__name__)

NAME = "backends"
#: (embed_backend, embed_quant): the reference first.
BACKENDS = (("torch", "fp32"), ("onnx", "fp32"), ("onnx", "int8"))
XQUAD_LANGS = ("en", "ar", "de", "hi", "ru", "th", "vi", "zh")
SIZES = {
    "quick": {"langs": ("en", "de"), "paragraphs": 6, "tatoeba": {"de": "deu"}, "pairs": 24, "queries": 5},
    "full": {"langs": XQUAD_LANGS, "paragraphs": 60, "tatoeba": TATOEBA_XNLI, "pairs": 200, "queries": 60},
    "complete": {"langs": XQUAD_LANGS, "paragraphs": 0, "tatoeba": TATOEBA_XNLI, "pairs": 1000, "queries": 120},
}
#: Quality targets against torch fp32, in points (issue: ONNX int8 within 0.5 points).
MAX_DROP_POINTS = 0.5
QUERY_MS_TARGET = 7.0
WARM_UP = 5


def run(ctx: Context) -> dict[str, Any]:
    """Measure every backend on the same data, one backend loaded at a time.

    Args:
        ctx: the run context.

    Returns:
        The result written to ``backends.json``.
    """
    started = time.perf_counter()
    size = SIZES[ctx.size]
    xquad = load_xquad(ctx.options.eval_dir, size["langs"], size["paragraphs"], 1)
    tatoeba = {
        lang: load_tatoeba(ctx.options.eval_dir, code3, size["pairs"]) for lang, code3 in size["tatoeba"].items()
    }
    sample = [p for texts in xquad.paragraphs.values() for p in texts[:12]]
    queries = [q.text for qs in xquad.questions.values() for q in qs]
    queries = [queries[i] for i in np.linspace(0, len(queries) - 1, size["queries"]).round().astype(int)]
    rows, reference = {}, None
    for backend, quant in BACKENDS:
        label = f"{backend} {quant}"
        logger.info("backends: %s", label)
        row, vectors = _measure(ctx, backend, quant, xquad, tatoeba, sample, queries)
        reference = vectors if reference is None else reference
        cos = (vectors * reference).sum(axis=1)
        row["passage_cosine_to_torch"] = {
            "min": round(float(cos.min()), 5),
            "mean": round(float(cos.mean()), 5),
            "n": len(cos),
        }
        rows[label] = row
        gc.collect()
    result = {
        "config": {
            "xquad_languages": list(xquad.paragraphs),
            "paragraphs_per_language": len(xquad.titles),
            "questions_per_language": len(next(iter(xquad.questions.values()))),
            "tatoeba_languages": list(size["tatoeba"]),
            "tatoeba_pairs": size["pairs"],
            "query_timing": f"{len(queries)} single XQuAD questions, one thread, {WARM_UP} warm-ups",
            "max_drop_points": MAX_DROP_POINTS,
            "query_ms_target": QUERY_MS_TARGET,
        },
        "backends": rows,
        "targets": _targets(rows),
    }
    write_result(ctx, NAME, result, started)
    return result


def _measure(
    ctx: Context,
    backend: str,
    quant: str,
    xquad: Any,
    tatoeba: dict[str, tuple[list[str], list[str]]],
    sample: list[str],
    queries: list[str],
) -> tuple[dict[str, Any], np.ndarray]:
    from app.service import SearchService
    from indexer.embedder import load_embedder

    home = ctx.options.work_dir / f"backends-{backend}-{quant}"
    settings = ctx.settings(home, embed_backend=backend, embed_quant=quant)
    t0 = time.perf_counter()
    embedder = load_embedder(
        settings.model, settings.prompts, settings.cache_path, settings.batch_size, settings.threads, backend, quant
    )
    load_s = time.perf_counter() - t0
    service = SearchService(settings, embedder)
    try:
        t0 = time.perf_counter()
        report = service.ingest(write_corpus(xquad, home / "corpus"), "xquad")
        ingest_s = time.perf_counter() - t0
        outcomes = tabulate(evaluate(ProductSystem(service).ranker({}), xquad, ("en2x", "x2en")))
    finally:
        service.close()
    r10 = {s: outcomes[s]["gold"]["avg"]["r10"] for s in ("en2x", "x2en")}
    t0 = time.perf_counter()
    tat = {lang: _tatoeba(embedder, xx, en) for lang, (xx, en) in tatoeba.items()}
    tatoeba_s = time.perf_counter() - t0
    vectors = embedder.encode_documents(sample)
    del embedder, service
    gc.collect()
    row = {
        "backend_label": f"{backend} {quant}",
        "load_s": round(load_s, 1),
        "ingest_s": round(ingest_s, 1),
        "chunks": report.n_chunks,
        "xquad_r10": {**r10, "cross_lingual": round((r10["en2x"] + r10["x2en"]) / 2, 2)},
        "tatoeba": {
            "per_lang": tat,
            "avg": round(float(np.mean([(v["xx2en"] + v["en2xx"]) / 2 for v in tat.values()])), 2),
        },
        "tatoeba_s": round(tatoeba_s, 1),
        "query_ms_one_thread": _query_ms(settings, backend, quant, queries),
    }
    logger.info("backends %s %s: %s", backend, quant, row)
    return row, vectors


def _tatoeba(embedder: Any, xx: list[str], en: list[str]) -> dict[str, float]:
    def encode(texts: list[str]) -> np.ndarray:
        return np.concatenate([embedder.encode_queries(texts[i : i + 32]) for i in range(0, len(texts), 32)])

    sim = encode(xx) @ encode(en).T
    return {"xx2en": accuracy_at_1(sim.argmax(axis=1)), "en2xx": accuracy_at_1(sim.argmax(axis=0))}


def _query_ms(settings: Any, backend: str, quant: str, queries: list[str]) -> dict[str, float]:
    """One query per call, one thread: what a search pays before it reaches the index."""
    from indexer.embedder import load_embedder

    embedder = load_embedder(settings.model, settings.prompts, settings.cache_path, 1, 1, backend, quant)
    for q in queries[:WARM_UP]:
        embedder.encode_queries([q])
    times = []
    for q in queries:
        t0 = time.perf_counter()
        embedder.encode_queries([q])
        times.append((time.perf_counter() - t0) * 1000)
    if backend == "torch":
        # load_embedder set torch's global thread count to 1; give the next loads their default back.
        import torch

        from indexer.onnx.session import usable_cores

        torch.set_num_threads(settings.threads or usable_cores())
    return percentiles(times)


def _targets(rows: dict[str, dict[str, Any]]) -> dict[str, Any]:
    ref = rows["torch fp32"]
    out = {}
    for label, row in rows.items():
        if label == "torch fp32":
            continue
        xq = round(row["xquad_r10"]["cross_lingual"] - ref["xquad_r10"]["cross_lingual"], 2)
        tat = round(row["tatoeba"]["avg"] - ref["tatoeba"]["avg"], 2)
        out[label] = {
            "xquad_delta": xq,
            "tatoeba_delta": tat,
            "xquad_ok": xq >= -MAX_DROP_POINTS,
            "tatoeba_ok": tat >= -MAX_DROP_POINTS,
            "query_ms_ok": row["query_ms_one_thread"]["p50"] <= QUERY_MS_TARGET,
        }
    return out
