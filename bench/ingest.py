"""Ingest throughput: product pipeline against a hand-written baseline, per stage, and the length-sorting effect."""

from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.data import XQUAD_LANGS, articles, load_xquad
from bench.env import Context, ratio, run_json_child, write_result

logger = logging.getLogger(__name__)

NAME = "ingest"
#: "product" is the default configuration (ONNX int8 where onnxruntime is installed); the others pin a backend.
SYSTEMS = ("product", "baseline", "product-torch", "product-onnx-fp32")
SIZES = {"quick": {"documents": 3, "rounds": 1}, "full": {"documents": 48, "rounds": 2},
         "complete": {"documents": 144, "rounds": 2}}


def run(ctx: Context) -> dict[str, Any]:
    """Ingest XQuAD articles (about 5 paragraphs each, languages mixed) with both systems, in child processes.

    Args:
        ctx: the run context.

    Returns:
        The result written to ``ingest.json``.
    """
    started = time.perf_counter()
    size = SIZES[ctx.size]
    corpus = _write_corpus(ctx, size["documents"])
    rounds = []
    for n in range(size["rounds"]):
        # Alternate the order, so that a change in the machine's load hits every system.
        order = SYSTEMS if n % 2 == 0 else tuple(reversed(SYSTEMS))
        row = {system: _child(ctx, system, corpus, n) for system in order}
        row |= _ratios(row)
        rounds.append(row)
    result = {"config": {"documents": size["documents"], "languages": list(XQUAD_LANGS), "rounds": size["rounds"],
                         "systems": list(SYSTEMS), "threads": ctx.options.threads,
                         "corpus": "XQuAD articles: an article's paragraphs joined by blank lines, one .txt per "
                                   "document, languages rotating",
                         "baseline": "read files, 200-word chunks, SentenceTransformer.encode_document(batch_size=32)"
                                     " in its own order, faiss IndexFlatIP add + write_index"},
              "rounds": rounds, "summary": _summary(rounds), "threads": _threads(ctx, corpus),
              "length_sorting": _length_sorting(ctx, corpus)}
    write_result(ctx, NAME, result, started)
    return result


def _write_corpus(ctx: Context, n_docs: int) -> Path:
    xquad = load_xquad(ctx.options.eval_dir)
    folder = ctx.options.work_dir / "ingest-corpus"
    folder.mkdir(parents=True, exist_ok=True)
    for stem, _, text in articles(xquad, n_docs):
        (folder / f"{stem.replace('/', '_')}.txt").write_text(text + "\n", encoding="utf-8")
    return folder


def _child(ctx: Context, system: str, corpus: Path, n: int | str, threads: int | None = None) -> dict[str, Any]:
    work = ctx.options.work_dir / f"ingest-{system}-{n}"
    out = work.with_suffix(".json")
    cmd = [sys.executable, "-m", "bench.ingest_worker", system, str(corpus), str(work), str(out)]
    threads = ctx.options.threads if threads is None else threads
    if threads:
        cmd += ["--threads", str(threads)]
    t0 = time.perf_counter()
    result = run_json_child(cmd, out, f"{system} ingest")
    result["process_wall_s"] = round(time.perf_counter() - t0, 1)
    for key in ("documents", "chunks", "tokens_embedded"):
        result[f"{key}_per_s"] = _rate(result, key)
    logger.info("ingest %s: %s", system, result)
    return result


def _ratios(row: dict[str, Any]) -> dict[str, Any]:
    # The default product against the baseline (the keys the report has always shown), then every system
    # against the baseline and against the product's own torch path, in tokens/s.
    out = {f"{key}_per_s_ratio": ratio(_rate(row["product"], k), _rate(row["baseline"], k))
           for key, k in (("chunks", "chunks"), ("documents", "documents"), ("tokens", "tokens_embedded"))}
    for system in SYSTEMS:
        tokens = _rate(row[system], "tokens_embedded")
        out[f"{system}_tokens_vs_baseline"] = ratio(tokens, _rate(row["baseline"], "tokens_embedded"))
        out[f"{system}_tokens_vs_torch"] = ratio(tokens, _rate(row["product-torch"], "tokens_embedded"))
    return out


def _threads(ctx: Context, corpus: Path) -> dict[str, Any]:
    """The default product on one thread and on every core, one after the other."""
    if ctx.quick:
        return {}
    from indexer.onnx.session import usable_cores

    runs = {n: _child(ctx, "product", corpus, f"threads{n}", threads=n) for n in sorted({1, usable_cores()})}
    return {"tokens_per_s_by_threads": {str(n): r["tokens_embedded_per_s"] for n, r in runs.items()},
            "chunks_per_s_by_threads": {str(n): r["chunks_per_s"] for n, r in runs.items()},
            "embed_backend": next(iter(runs.values()))["embed_backend"], "load_average": os.getloadavg()[0]}


def _rate(row: dict[str, Any], key: str) -> float:
    return round(row[key] / row["wall_s"], 2) if row["wall_s"] else 0.0


def _summary(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    def median(key: str) -> float | None:
        values = [r[key] for r in rounds if r.get(key) is not None]
        return round(float(np.median(values)), 3) if values else None

    keys = ["chunks_per_s_ratio", "documents_per_s_ratio", "tokens_per_s_ratio"]
    keys += [f"{system}_tokens_vs_{ref}" for system in SYSTEMS for ref in ("baseline", "torch")]
    return {key: median(key) for key in keys}


def _length_sorting(ctx: Context, corpus: Path) -> dict[str, Any]:
    """The product's chunks embedded twice: token-length-sorted batches against SentenceTransformer.encode."""
    from indexer.chunking import chunk_text

    embedder = ctx.embedder
    settings = ctx.settings(ctx.options.work_dir / "unused-home")
    texts = [s.text for path in sorted(corpus.glob("*.txt"))
             for s in chunk_text(path.read_text(encoding="utf-8"), embedder.token_spans, settings.chunk_tokens,
                                 settings.chunk_overlap)]
    prompt = settings.document_prompt
    t0 = time.perf_counter()
    mine = embedder.encode_documents(texts)
    t1 = time.perf_counter()
    theirs = embedder.model.encode(texts, prompt=prompt, batch_size=embedder.batch_size, normalize_embeddings=True,
                                   convert_to_numpy=True, show_progress_bar=False)
    t2 = time.perf_counter()
    tokens = embedder.count_tokens(texts, prompt).clip(max=embedder.max_tokens)
    by_tokens = np.argsort(-tokens, kind="stable")
    by_chars = np.argsort([-len(prompt + t) for t in texts], kind="stable")  # sentence-transformers' order
    return {"chunks": len(texts), "batch_size": embedder.batch_size, "tokens": int(tokens.sum()),
            "sorted_by_tokens_s": round(t1 - t0, 2), "sentence_transformers_s": round(t2 - t1, 2),
            "speedup": ratio(t2 - t1, t1 - t0),
            "padded_tokens_by_tokens": _padded(tokens, by_tokens, embedder.batch_size),
            "padded_tokens_by_chars": _padded(tokens, by_chars, embedder.batch_size),
            "max_abs_diff": float(np.abs(mine - np.asarray(theirs)).max()) if len(texts) else 0.0}


def _padded(tokens: np.ndarray, order: np.ndarray, batch: int) -> int:
    # Every sequence of a batch is padded to the batch's longest.
    return int(sum(tokens[order[i:i + batch]].max() * len(order[i:i + batch]) for i in range(0, len(order), batch)))
