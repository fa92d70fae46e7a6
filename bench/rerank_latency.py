"""Latency of NLI reranking: 20 candidates of about 150 tokens each (``python -m bench.rerank_latency``)."""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np

from app.rerank import rerank
from app.results import SearchResult
from bench.data import load_xquad
from bench.env import percentiles, run_standalone, standalone_parser
from indexer.nli import load_nli

logger = logging.getLogger(__name__)


def candidates(eval_dir: Path, n: int, tokens: int, tokenizer) -> tuple[str, list[SearchResult]]:
    """An English question and ``n`` XQuAD paragraphs in rotating languages, cut to about ``tokens`` tokens.

    Args:
        eval_dir: folder holding ``xquad/``.
        n: candidates.
        tokens: target length of each passage in model tokens.
        tokenizer: the model's tokenizer (for cutting).

    Returns:
        (query, results as the vector search would return them).
    """
    langs = ("en", "de", "ru", "zh", "ar", "es")
    xquad = load_xquad(eval_dir, langs, max_paragraphs=n)
    results = []
    for i in range(n):
        text = xquad.paragraphs[langs[i % len(langs)]][i]
        ids = tokenizer(text, add_special_tokens=False)["input_ids"][:tokens]
        results.append(
            SearchResult(
                rank=i + 1,
                score=1.0 - 0.01 * i,
                text=tokenizer.decode(ids),
                source_name="",
                title="",
                language=langs[i % len(langs)],
                collection="bench",
                document_id=i,
                chunk_id=i,
                char_start=0,
                char_end=0,
            )
        )
    return xquad.questions["en"][0].text, results


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Time ``rerank`` end to end (NLI scoring included).

    Args:
        args: the parsed command line.

    Returns:
        The measurements (``run_standalone`` adds the machine facts and writes them).
    """
    nli = load_nli(args.model, args.cache_dir)
    query, results = candidates(args.eval_dir, args.candidates, args.tokens, nli.tokenizer)
    lengths = [len(nli.tokenizer(r.text)["input_ids"]) for r in results]
    rerank(results, query, nli)  # warm-up
    times = []
    for _ in range(args.repeats):
        started = time.perf_counter()
        reranked = rerank(results, query, nli)
        times.append(1000 * (time.perf_counter() - started))
    assert len(reranked) == len(results)
    stats = percentiles(times)
    logger.info(
        "rerank of %d candidates (%.0f tokens each): p50 %.0f ms, p95 %.0f ms (%d threads)",
        len(results),
        np.mean(lengths),
        stats["p50"],
        stats["p95"],
        args.threads,
    )
    return {
        "model": args.model,
        "candidates": len(results),
        "mean_tokens": float(np.mean(lengths)),
        "repeats": args.repeats,
        "threads": args.threads,
        "ms": stats,
    }


def _parser() -> argparse.ArgumentParser:
    """The shared options plus this benchmark's own: the candidates and their length, and the repeats."""
    p = standalone_parser("rerank_latency", __doc__)
    p.add_argument("--candidates", type=int, default=20)
    p.add_argument("--tokens", type=int, default=150)
    p.add_argument("--repeats", type=int, default=10)
    return p


if __name__ == "__main__":
    raise SystemExit(run_standalone(_parser(), run))
