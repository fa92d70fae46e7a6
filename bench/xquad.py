"""Cross-lingual retrieval on XQuAD through the product, against the direct model, plus the CLI path."""

from __future__ import annotations

import logging
import time
from typing import Any

from bench.data import XQUAD_LANGS, load_xquad
from bench.env import Context, write_result
from bench.xquad_diag import chunk_facts, cli_check, embedding_agreement, gap_attribution
from bench.xquad_systems import (
    SETTING_LABELS,
    SETTINGS,
    DirectSystem,
    ProductSystem,
    Variant,
    evaluate,
    restrict,
    supported,
    tabulate,
    write_corpus,
)
from indexer.errors import BabelSearchError

logger = logging.getLogger(__name__)

NAME = "xquad"
SIZES = {
    "quick": {"langs": ("en", "de"), "max_paragraphs": 8, "questions_per_paragraph": 1, "variant_scale": 0},
    # One question per paragraph keeps every paragraph gold exactly once and the run within the hour.
    "full": {"langs": XQUAD_LANGS, "max_paragraphs": 0, "questions_per_paragraph": 1, "variant_scale": 1},
    "complete": {"langs": XQUAD_LANGS, "max_paragraphs": 0, "questions_per_paragraph": 0, "variant_scale": 3},
}
CLI_PAIR = ("en", "de")
#: Product search modes, one line each: options, settings and questions per task at the "full" size (scaled for
#: the others). A mode runs only when SearchService.search accepts its options.
VARIANTS = [
    Variant("plain", {}),
    Variant("balanced", {"balanced": True}, ("mixed", "mixed_foreign"), max_queries=30),
    Variant("other_languages", {"other_languages": True}, ("mixed",), max_queries=30),
    Variant("hybrid", {"hybrid": True}, SETTINGS, max_queries=20),
    Variant("rerank", {"rerank": True}, ("en2x", "x2en"), max_queries=3),
]
QUICK_VARIANT_QUERIES = 2


def run(ctx: Context) -> dict[str, Any]:
    """Ingest XQuAD through the pipeline, query it through the service and compare with the direct model.

    Args:
        ctx: the run context.

    Returns:
        The result written to ``xquad.json``.
    """
    from app.service import SearchService

    started = time.perf_counter()
    size = SIZES[ctx.size]
    xquad = load_xquad(ctx.options.eval_dir, size["langs"], size["max_paragraphs"], size["questions_per_paragraph"])
    home = ctx.options.work_dir / "xquad-home"
    service = SearchService(ctx.settings(home), ctx.embedder)
    timings: dict[str, float] = {}
    try:
        product, ingest = _ingest(service, xquad, ctx, timings)
        plain = _timed(timings, "product_queries_s", lambda: evaluate(product.ranker({}), xquad, SETTINGS))
        direct = _timed(timings, "direct_embed_s", lambda: DirectSystem(ctx.direct_model, xquad))
        direct_out = _timed(timings, "direct_queries_s", lambda: evaluate(direct.rank, xquad, SETTINGS))
        variants, skipped = _variants(product, xquad, plain, size["variant_scale"], timings)
        facts, docs = chunk_facts(product)
        diagnostics = {"chunks": facts, "gap": gap_attribution(plain, direct_out, docs, xquad),
                       "embeddings": embedding_agreement(product, direct, docs, xquad, ctx.embedder)}
        cli = _timed(timings, "cli_s", lambda: cli_check(product, xquad, home, CLI_PAIR,
                                                          ctx.options.work_dir, ctx.options.threads))
    finally:
        service.close()
    result = {"config": {"languages": list(xquad.paragraphs), "paragraphs_per_language": len(xquad.titles),
                         "questions_per_language": len(next(iter(xquad.questions.values()))),
                         "questions_per_paragraph": size["questions_per_paragraph"] or "all", "k": 10,
                         "settings": SETTING_LABELS, "chunk_tokens": service.settings.chunk_tokens,
                         "chunk_overlap": service.settings.chunk_overlap,
                         "rerank_k": getattr(service.settings, "rerank_k", None),
                         "rerank_budget_ms": getattr(service.settings, "rerank_budget_ms", None)},
              "ingest": ingest, "systems": {"product": tabulate(plain), "direct": tabulate(direct_out)},
              "variants": variants, "variants_skipped": skipped, "diagnostics": diagnostics, "cli": cli,
              "headline": headline(tabulate(plain), tabulate(direct_out)), "timings_s": timings}
    write_result(ctx, NAME, result, started)
    return result


def _ingest(service: Any, xquad: Any, ctx: Context, timings: dict[str, float]) -> tuple[ProductSystem, dict]:
    files = write_corpus(xquad, ctx.options.work_dir / "xquad-corpus")
    t0 = time.perf_counter()
    report = service.ingest(files, "xquad")
    timings["product_ingest_s"] = round(time.perf_counter() - t0, 1)
    if report.failed:
        raise RuntimeError(f"XQuAD ingest failed: {[(f.source_name, f.message) for f in report.failed]}")
    product = ProductSystem(service)
    ingest = {"documents": sum(f.documents for f in report.files),
              "duplicates": sum(f.duplicates for f in report.files), "chunks": report.n_chunks,
              "stage_s": {k: round(v, 2) for k, v in report.timings.items()}}
    return product, ingest


def _timed(timings: dict[str, float], key: str, action: Any) -> Any:
    t0 = time.perf_counter()
    out = action()
    timings[key] = round(time.perf_counter() - t0, 1)
    return out


def _variants(product: ProductSystem, xquad: Any, plain: Any, scale: float,
              timings: dict[str, float]) -> tuple[dict[str, Any], list[str]]:
    # Each mode is compared with plain search on exactly the same questions.
    from app.service import SearchService

    out, skipped = {}, []
    for variant in VARIANTS[1:]:
        if not supported(variant.kwargs, SearchService.search):
            skipped.append(variant.name)
            continue
        cap = int(variant.max_queries * scale) or QUICK_VARIANT_QUERIES
        t0 = time.perf_counter()
        try:
            outcomes = evaluate(product.ranker(variant.kwargs), xquad, variant.settings, cap)
        except BabelSearchError as e:  # e.g. the NLI model is not installed: recorded, not fatal
            logger.warning("variant %s failed: %s", variant.name, e)
            skipped.append(f"{variant.name} ({e.__class__.__name__}: {e})")
            continue
        timings[f"variant_{variant.name}_s"] = round(time.perf_counter() - t0, 1)
        out[variant.name] = {"kwargs": variant.kwargs, "max_queries": cap, "results": tabulate(outcomes),
                             "plain_same_queries": tabulate(restrict(plain, outcomes))}
    return out, skipped


def headline(product: dict[str, Any], direct: dict[str, Any]) -> dict[str, Any]:
    """Cross-lingual Recall@10 (mean of English→X and X→English), product against direct, and the 1-point check.

    Args:
        product: tabulated product results.
        direct: tabulated direct-model results.

    Returns:
        Per setting and overall: both R@10 values, the difference and whether the product is within 1 point.
    """
    out: dict[str, Any] = {}
    for setting in ("mono", "en2x", "x2en"):
        mine, theirs = product[setting]["gold"]["avg"]["r10"], direct[setting]["gold"]["avg"]["r10"]
        out[setting] = {"product_r10": mine, "direct_r10": theirs, "delta": round(mine - theirs, 2),
                        "within_1_point": mine >= theirs - 1}
    mine = round((out["en2x"]["product_r10"] + out["x2en"]["product_r10"]) / 2, 2)
    theirs = round((out["en2x"]["direct_r10"] + out["x2en"]["direct_r10"]) / 2, 2)
    out["cross_lingual"] = {"product_r10": mine, "direct_r10": theirs, "delta": round(mine - theirs, 2),
                            "within_1_point": mine >= theirs - 1}
    return out
