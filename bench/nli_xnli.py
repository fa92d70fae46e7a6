"""XNLI accuracy of an NLI model per language on the held-out XNLI-dev ids: ``python -m bench.nli_xnli``.

The shipped model was trained on the other ids (split by id, so no translation of a held-out pair was seen);
the split is re-made from the fraction and seed recorded in the model's config.
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.env import EVAL_DIR, run_standalone, standalone_parser
from indexer.nli import NliModel, load_nli
from indexer.nli.calibrate import badge_stats
from indexer.nli.data import XNLI_LANGUAGES, NliPair, calibration_split, cross_pairs
from indexer.nli.data import held_out_pairs as data_held_out
from indexer.nli.shipped import WEIGHTS_DIR, read_config

logger = logging.getLogger(__name__)


def held_out_pairs(xnli_dir: Path, weights_dir: Path = WEIGHTS_DIR, max_ids: int | None = None) -> list[NliPair]:
    """The held-out XNLI pairs of the shipped model (same fraction and seed as its training).

    Args:
        xnli_dir: folder of ``xnli_validation_<lang>.tsv``.
        weights_dir: the shipped weights (their config names the split).
        max_ids: read only the first N ids per language (quick runs).

    Returns:
        Held-out pairs of every language.
    """
    return data_held_out(xnli_dir, read_config(weights_dir)["training"]["options"], max_ids)


def accuracy_by_language(nli: NliModel, pairs: list[NliPair], batch_size: int = 32) -> dict[str, float]:
    """Score every pair and report accuracy per language plus the average over XNLI languages.

    Args:
        nli: the model.
        pairs: labelled pairs.
        batch_size: pairs per forward pass.

    Returns:
        Language -> accuracy, and ``avg``.
    """
    return _by_language(pairs, nli.predict([p.premise for p in pairs], [p.hypothesis for p in pairs], batch_size))[0]


def _by_language(pairs: list[NliPair], probs: np.ndarray, threshold: float = 1.0) -> tuple[dict, dict]:
    """(accuracy per language and ``avg``, badge precision/coverage per language and ``all``) of scored pairs."""
    labels = np.array([p.label for p in pairs])
    correct = probs.argmax(1) == labels
    langs = np.array([p.lang for p in pairs])
    scores = {lang: float(correct[langs == lang].mean()) for lang in sorted(set(langs.tolist()))}
    mono = [v for k, v in scores.items() if k in XNLI_LANGUAGES]
    if mono:
        scores["avg"] = float(np.mean(mono))
    badges = {
        lang: badge_stats(probs[langs == lang], labels[langs == lang], threshold) for lang in set(langs.tolist())
    }
    badges["all"] = badge_stats(probs, labels, threshold)
    return scores, dict(sorted(badges.items()))


def _table(mono: dict[str, float], cross: dict[str, float]) -> str:
    rows = ["lang   XNLI   <lang>-en"]
    for lang in XNLI_LANGUAGES:
        if lang in mono:
            other = cross.get(f"{lang}-en")
            rows.append(f"{lang:5s} {100 * mono[lang]:5.1f}   {'' if other is None else f'{100 * other:5.1f}'}")
    cross_avg = np.mean(list(cross.values())) if cross else float("nan")
    rows.append(f"avg   {100 * mono.get('avg', float('nan')):5.1f}   {100 * cross_avg:5.1f}")
    return "\n".join(rows)


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Score the held-out pairs (and their cross-language versions) per language.

    Args:
        args: the parsed command line.

    Returns:
        The measurements (``run_standalone`` adds the machine facts and writes them).
    """
    held = held_out_pairs(args.xnli_dir, max_ids=args.max_ids)
    nli = load_nli(args.model, args.cache_dir, args.backend, args.quant, threads=args.threads)
    cross = cross_pairs(held) if args.cross else []
    pairs = held + cross
    started = time.perf_counter()
    probs = nli.predict([p.premise for p in pairs], [p.hypothesis for p in pairs], batch_size=32)
    elapsed = time.perf_counter() - started
    threshold = getattr(nli, "badge_threshold", 1.0)
    mono = _by_language(held, probs[: len(held)])[0]
    cross_acc = _by_language(cross, probs[len(held) :])[0] if cross else {}
    cross_acc.pop("avg", None)
    # Badges on the half of the held-out ids that the calibration did not see.
    evaluation = {p.group for p in calibration_split(held)[1]}
    keep = np.array([p.group in evaluation for p in pairs])
    badges = _by_language([p for p, k in zip(pairs, keep) if k], probs[keep], threshold)[1]
    cross_badges = [b for k, b in badges.items() if "-" in k]
    logger.info("XNLI held-out accuracy (%%), %s:\n%s", args.model, _table(mono, cross_acc))
    logger.info("badges at p >= %.2f (evaluation half): %s", threshold, badges["all"])
    return {
        "model": args.model,
        "backend": getattr(nli, "quant", "torch"),
        "quick": args.max_ids is not None,
        "held_out_ids": len({p.group for p in held}),
        "pairs": len(pairs),
        "accuracy": mono,
        "cross_en_hypothesis": cross_acc,
        "cross_avg": float(np.mean(list(cross_acc.values()))) if cross_acc else None,
        "badge_threshold": threshold,
        "badges": badges,
        "badges_cross": badge_summary(cross_badges),
        "seconds": round(elapsed, 1),
        "pairs_per_s": round(len(pairs) / elapsed, 1),
    }


def badge_summary(stats: list[dict]) -> dict[str, float]:
    """Pooled precision and coverage of several languages' badge stats."""
    n = sum(s["n"] for s in stats)
    shown = sum(s["coverage"] * s["n"] for s in stats)
    right = sum((s["precision"] if s["coverage"] else 0) * s["coverage"] * s["n"] for s in stats)
    return {"precision": right / shown if shown else float("nan"), "coverage": shown / n if n else 0.0, "n": n}


def _parser() -> argparse.ArgumentParser:
    """The shared options plus this benchmark's own: the XNLI folder, quick-run size and the cross-language pairs."""
    p = standalone_parser("nli_xnli", __doc__, eval_dir=False)
    p.add_argument("--xnli-dir", type=Path, default=EVAL_DIR / "xnli-dev")
    p.add_argument("--max-ids", type=int, help="first N ids per language only (quick run)")
    p.add_argument(
        "--cross",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also score foreign premises against the English hypothesis",
    )
    p.add_argument("--backend", default="auto", choices=("auto", "onnx", "torch"), help="runtime of builtin:nli")
    p.add_argument("--quant", default="int8", choices=("int8", "fp32"), help="ONNX weights of builtin:nli")
    return p


if __name__ == "__main__":
    raise SystemExit(run_standalone(_parser(), run))
