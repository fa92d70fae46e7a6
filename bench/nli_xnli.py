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
from indexer.nli.builtin import WEIGHTS_DIR, read_config
from indexer.nli.data import XNLI_LANGUAGES, NliPair, read_xnli, split_by_group

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
    options = read_config(weights_dir)["training"]["options"]
    pairs = read_xnli(xnli_dir, tuple(options["languages"].split(",")), max_ids)
    return split_by_group(pairs, options["holdout"], options["split_seed"])[1]


def cross_pairs(held: list[NliPair]) -> list[NliPair]:
    """Foreign premise with the English hypothesis of the same id (the product's case: English claim, other text).

    Args:
        held: held-out monolingual pairs.

    Returns:
        Pairs labelled ``<lang>-en``.
    """
    english = {p.group: p.hypothesis for p in held if p.lang == "en"}
    return [
        NliPair(p.premise, english[p.group], p.label, f"{p.lang}-en", p.group)
        for p in held
        if p.lang != "en" and p.group in english
    ]


def accuracy_by_language(nli: NliModel, pairs: list[NliPair], batch_size: int = 32) -> dict[str, float]:
    """Score every pair and report accuracy per language plus the average over XNLI languages.

    Args:
        nli: the model.
        pairs: labelled pairs.
        batch_size: pairs per forward pass.

    Returns:
        Language -> accuracy, and ``avg``.
    """
    probs = nli.predict([p.premise for p in pairs], [p.hypothesis for p in pairs], batch_size=batch_size)
    correct = probs.argmax(1) == np.array([p.label for p in pairs])
    langs = np.array([p.lang for p in pairs])
    scores = {lang: float(correct[langs == lang].mean()) for lang in sorted(set(langs.tolist()))}
    mono = [v for k, v in scores.items() if k in XNLI_LANGUAGES]
    if mono:
        scores["avg"] = float(np.mean(mono))
    return scores


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
    nli = load_nli(args.model, args.cache_dir)
    started = time.perf_counter()
    mono = accuracy_by_language(nli, held)
    cross = accuracy_by_language(nli, cross_pairs(held)) if args.cross else {}
    elapsed = time.perf_counter() - started
    n = len(held) + sum(1 for _ in cross_pairs(held)) * bool(args.cross)
    logger.info("XNLI held-out accuracy (%%), %s:\n%s", args.model, _table(mono, cross))
    return {
        "model": args.model,
        "quick": args.max_ids is not None,
        "held_out_ids": len({p.group for p in held}),
        "pairs": n,
        "accuracy": mono,
        "cross_en_hypothesis": cross,
        "cross_avg": float(np.mean(list(cross.values()))) if cross else None,
        "seconds": round(elapsed, 1),
        "pairs_per_s": round(n / elapsed, 1),
    }


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
    return p


if __name__ == "__main__":
    raise SystemExit(run_standalone(_parser(), run))
