"""Calibrated confidence: temperature scaling of NLI logits, and the probability at which a stance badge shows."""

from __future__ import annotations

import numpy as np

#: Precision the badge threshold is chosen for on the calibration ids (a margin above the 85 % the product promises).
BADGE_PRECISION = 0.88


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Row-wise softmax of ``logits / temperature``."""
    z = np.asarray(logits, dtype=np.float64) / temperature
    z -= z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return (e / e.sum(axis=-1, keepdims=True)).astype(np.float32)


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The temperature that minimises the negative log-likelihood of ``labels`` (grid 0.25..10 by 0.01).

    Args:
        logits: [pairs, 3].
        labels: gold label ids.

    Returns:
        The temperature (1.0 when there are no pairs).
    """
    if not len(labels):
        return 1.0
    grid = np.arange(0.25, 10.0001, 0.01)
    nll = [-np.log(softmax(logits, t)[np.arange(len(labels)), labels] + 1e-12).mean() for t in grid]
    return float(round(grid[int(np.argmin(nll))], 2))


def badge_stats(probs: np.ndarray, labels: np.ndarray, threshold: float) -> dict[str, float]:
    """Precision and coverage of the badges shown at ``threshold`` (a badge = the top label, when its p >= threshold).

    Args:
        probs: calibrated probabilities [pairs, 3].
        labels: gold label ids.
        threshold: least top probability that shows a badge.

    Returns:
        ``precision`` (of the badges shown; nan when none), ``coverage`` (fraction of pairs with a badge), ``n``.
    """
    shown = probs.max(axis=-1) >= threshold
    correct = probs.argmax(axis=-1) == labels
    precision = float(correct[shown].mean()) if shown.any() else float("nan")
    return {"precision": precision, "coverage": float(shown.mean()) if len(labels) else 0.0, "n": int(len(labels))}


def badge_threshold(probs: np.ndarray, labels: np.ndarray, precision: float = BADGE_PRECISION) -> float:
    """The lowest threshold whose badges reach ``precision`` on these pairs (most badges at that precision).

    Args:
        probs: calibrated probabilities [pairs, 3].
        labels: gold label ids.
        precision: wanted precision of the badges shown.

    Returns:
        The threshold, in [1/3, 1]; 1.0 when no threshold reaches the precision.
    """
    for t in np.arange(0.34, 1.0, 0.01):
        stats = badge_stats(probs, labels, float(t))
        if stats["coverage"] and stats["precision"] >= precision:
            return float(round(t, 2))
    return 1.0


def calibrate(nli, calibration: list, precision: float = BADGE_PRECISION) -> dict:
    """Fit the temperature and the badge threshold of a model on labelled pairs it never trained on.

    Args:
        nli: the model as the product runs it; its ``temperature`` is set to 1 while scoring.
        calibration: the labelled pairs (:class:`indexer.nli.data.NliPair`).
        precision: wanted precision of the badges shown.

    Returns:
        ``temperature``, ``badge_threshold`` and what they were fitted on (``calibration``).
    """
    nli.temperature = 1.0
    probs = nli.predict([p.premise for p in calibration], [p.hypothesis for p in calibration], batch_size=32)
    labels = np.array([p.label for p in calibration])
    # log p differs from the logits by a per-row constant, which softmax ignores: this is temperature scaling.
    logits = np.log(np.clip(probs, 1e-12, None))
    temperature = fit_temperature(logits, labels)
    calibrated = softmax(logits, temperature)
    threshold = badge_threshold(calibrated, labels, precision)
    stats = badge_stats(calibrated, labels, threshold)
    return {
        "temperature": temperature,
        "badge_threshold": threshold,
        "calibration": {
            "pairs": len(calibration),
            "ids": len({p.group for p in calibration}),
            "precision_wanted": precision,
            "precision": round(stats["precision"], 4),
            "coverage": round(stats["coverage"], 4),
            "accuracy": round(float((probs.argmax(1) == labels).mean()), 4),
        },
    }


def main(argv: list[str] | None = None) -> int:
    """``python -m indexer.nli.calibrate``: fit the shipped model's temperature and badge threshold.

    The held-out XNLI ids of the model's training are halved: the first half (every language, and each foreign
    premise against the English hypothesis) calibrates; the other half is left for ``python -m bench.nli_xnli``
    to measure the badges on. The result is written into the weights' ``config.json``.
    """
    import argparse
    import json
    import logging
    import os
    from pathlib import Path

    from indexer.config import load_settings
    from indexer.nli import BUILTIN, load_nli
    from indexer.nli.data import calibration_split, cross_pairs, held_out_pairs
    from indexer.nli.shipped import CONFIG_FILE, WEIGHTS_DIR, read_config

    p = argparse.ArgumentParser(description=main.__doc__)
    p.add_argument("--xnli-dir", type=Path, required=True, help="folder of xnli_validation_<lang>.tsv")
    p.add_argument("--weights-dir", type=Path, default=WEIGHTS_DIR)
    p.add_argument("--precision", type=float, default=BADGE_PRECISION, help="wanted precision of the badges")
    p.add_argument("--base-model", type=Path, help="BertModel directory; default: the built-in e5 model")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    settings = load_settings()
    config = read_config(args.weights_dir)
    options = config["training"]["options"]
    held = held_out_pairs(args.xnli_dir, options, options.get("max_ids"))
    calibration = calibration_split(held)[0]
    nli = load_nli(
        BUILTIN,
        settings.cache_path,
        settings.nli_backend,
        settings.nli_quant,
        args.weights_dir,
        base_dir=args.base_model,
    )
    fitted = calibrate(nli, calibration + cross_pairs(calibration), args.precision)
    fitted["calibration"]["backend"] = getattr(nli, "quant", "torch")
    logging.getLogger(__name__).info("calibration: %s", fitted)
    path = Path(args.weights_dir) / CONFIG_FILE
    path.write_text(json.dumps(config | fitted, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
