"""Latency of NLI reranking: 20 candidates of about 130 tokens each (``python -m bench.rerank_latency``)."""

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


RUNTIMES = {"torch": ("torch", "fp32"), "onnx-fp32": ("onnx", "fp32"), "onnx-int8": ("onnx", "int8")}


def _time(fn, repeats: int) -> dict[str, float]:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(1000 * (time.perf_counter() - started))
    return percentiles(times)


def service_ms(args: argparse.Namespace, query: str, results: list[SearchResult]) -> dict[str, Any]:
    """``SearchService.search(query, k=n, stance=True)`` against an index of exactly these passages, vs without stance.

    The difference of the two p50s is the NLI stage inside the service (the product's runtime and threads).
    """
    import tempfile

    from app.service import SearchService
    from indexer.config import load_settings

    with tempfile.TemporaryDirectory() as home:
        folder = Path(home) / "docs"
        folder.mkdir()
        for n, r in enumerate(results):
            (folder / f"{n}.txt").write_text(r.text, encoding="utf-8")
        settings = load_settings(str(Path(home) / "index"), environ={}, threads=args.threads, rerank_budget_ms=10**6)
        service = SearchService(settings)
        try:
            service.ingest([folder], "bench")
            k = len(results)
            plain = _time(lambda: service.search(query, k=k), args.repeats)
            stance = _time(lambda: service.search(query, k=k, stance=True), args.repeats)
            shown = service.search(query, k=k, stance=True).results
        finally:
            service.close()
    return {"plain_ms": plain, "stance_ms": stance, "nli_p50_ms": stance["p50"] - plain["p50"], "scored": len(shown)}


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Time ``rerank`` end to end (NLI scoring included) in each runtime, and the stance stage inside the service.

    Args:
        args: the parsed command line.

    Returns:
        The measurements (``run_standalone`` adds the machine facts and writes them).
    """
    runtimes, query, results, lengths = {}, "", [], []
    for name in args.runtimes:
        backend, quant = RUNTIMES[name]
        nli = load_nli(args.model, args.cache_dir, backend, quant, threads=args.threads)
        if not results:
            query, results = candidates(args.eval_dir, args.candidates, args.tokens, nli.tokenizer)
            lengths = [len(nli.tokenizer(r.text)["input_ids"]) for r in results]
        runtimes[name] = _time(lambda nli=nli: rerank(results, query, nli), args.repeats)
        logger.info("rerank of %d candidates with %s: p50 %.0f ms", len(results), name, runtimes[name]["p50"])
        del nli
    service = service_ms(args, query, results) if args.service else None
    first = next(iter(runtimes.values()))
    return {
        "model": args.model,
        "candidates": len(results),
        "mean_tokens": float(np.mean(lengths)),
        "repeats": args.repeats,
        "threads": args.threads,
        "ms": first,
        "runtimes": runtimes,
        "service": service,
    }


def _parser() -> argparse.ArgumentParser:
    """The shared options plus this benchmark's own: the candidates and their length, and the repeats."""
    p = standalone_parser("rerank_latency", __doc__)
    p.add_argument("--candidates", type=int, default=20)
    p.add_argument("--tokens", type=int, default=130)
    p.add_argument("--repeats", type=int, default=10)
    p.add_argument("--runtimes", type=lambda v: v.split(","), default=list(RUNTIMES), help=",".join(RUNTIMES))
    p.add_argument("--service", action=argparse.BooleanOptionalAction, default=True, help="also time the service")
    return p


if __name__ == "__main__":
    raise SystemExit(run_standalone(_parser(), run))
