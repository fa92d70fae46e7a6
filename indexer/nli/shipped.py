"""The shipped NLI weights: where they are, and the config every runtime of them reads (no torch needed)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from indexer.errors import ModelUnavailableError
from indexer.nli.base import LABELS, NliModel

WEIGHTS_DIR = Path(__file__).parent / "weights"
WEIGHTS_FILE = "nli.safetensors"
CONFIG_FILE = "config.json"
BASE_MODEL = "multilingual-e5-small"
FORMAT = 1
#: Longest pair at prediction time: search chunks are up to 256 tokens, plus the query.
PREDICT_MAX_LENGTH = 384


def read_config(weights_dir: Path) -> dict:
    """Read the shipped model's config.

    Args:
        weights_dir: the weights folder.

    Returns:
        The config dict.

    Raises:
        ModelUnavailableError: if the files are missing or of another format.
    """
    path = Path(weights_dir) / CONFIG_FILE
    if not path.is_file() or not (Path(weights_dir) / WEIGHTS_FILE).is_file():
        raise ModelUnavailableError(
            f"The built-in NLI weights are missing from {weights_dir}. Reinstall Babel Search, retrain them with "
            "`python -m indexer.nli.train --xnli-dir <xnli-dev> --nli-en-dir <nli-en> --out <dir>`, or set "
            "BABELSEARCH_NLI_MODEL to a Hub NLI cross-encoder such as MoritzLaurer/multilingual-MiniLMv2-L6-mnli-xnli."
        )
    config = json.loads(path.read_text(encoding="utf-8"))
    if config.get("format") != FORMAT or config.get("labels") != list(LABELS):
        raise ModelUnavailableError(f"{path}: unsupported NLI weights (format {config.get('format')}); retrain them")
    return config


def predict_options(config: dict) -> dict[str, Any]:
    """What prediction takes from the config, whatever runs the model: pair length and calibration.

    Args:
        config: the dict of :func:`read_config`.

    Returns:
        ``max_length``, ``temperature`` and ``badge_threshold``, as keyword arguments of the models.
    """
    return {
        "max_length": config.get("predict_max_length", PREDICT_MAX_LENGTH),
        "temperature": config.get("temperature", 1.0),
        "badge_threshold": config.get("badge_threshold", NliModel.badge_threshold),
    }
