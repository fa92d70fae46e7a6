"""PNG plots of the benchmark results (matplotlib, optional: without it the report has tables only)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

try:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    MATPLOTLIB = True
except ImportError:  # pragma: no cover - exercised only where matplotlib is missing
    MATPLOTLIB = False

PRODUCT, BASELINE = "#1f77b4", "#ff7f0e"


def plot_all(results: dict[str, dict[str, Any]], folder: Path) -> dict[str, str]:
    """Draw every plot whose data is present.

    Args:
        results: benchmark name → its JSON.
        folder: where the PNG files go.

    Returns:
        Benchmark name → PNG file name (only for the plots drawn).
    """
    if not MATPLOTLIB:
        logger.warning("matplotlib is not installed - pip install matplotlib: the report will have no plots")
        return {}
    drawers = {"xquad": _xquad, "tatoeba": _tatoeba, "ingest": _ingest, "latency": _latency}
    out = {}
    for name, draw in drawers.items():
        if name in results:
            path = folder / f"{name}.png"
            fig = draw(results[name])
            fig.savefig(path, dpi=110, bbox_inches="tight")
            plt.close(fig)
            out[name] = path.name
    return out


def _bars(ax: Any, labels: list[str], series: dict[str, tuple[list[float], str]], ylabel: str) -> None:
    width = 0.8 / max(len(series), 1)
    for n, (name, (values, color)) in enumerate(series.items()):
        ax.bar([i + n * width for i in range(len(labels))], values, width, label=name, color=color)
    ax.set_xticks([i + width * (len(series) - 1) / 2 for i in range(len(labels))], labels)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8)


def _xquad(data: dict[str, Any]) -> Any:
    settings = [s for s in ("en2x", "x2en", "mono") if s in data["systems"]["product"]]
    fig, axes = plt.subplots(len(settings), 1, figsize=(10, 2.8 * len(settings)), squeeze=False)
    for ax, setting in zip(axes[:, 0], settings):
        langs = list(data["systems"]["product"][setting]["gold"]["per_lang"])
        series = {system: ([data["systems"][system][setting]["gold"]["per_lang"][x]["r10"] for x in langs], color)
                  for system, color in (("product", PRODUCT), ("direct", BASELINE))}
        _bars(ax, langs, series, "Recall@10 (%)")
        ax.set_title(data["config"]["settings"][setting], fontsize=10)
        ax.set_ylim(0, 100)
    fig.suptitle("XQuAD: product (SearchService) vs direct model")
    fig.tight_layout()
    return fig


def _tatoeba(data: dict[str, Any]) -> Any:
    langs = list(data["per_lang"])
    fig, ax = plt.subplots(figsize=(11, 3.5))
    _bars(ax, langs, {"xx→eng": ([data["per_lang"][x]["xx2en"] for x in langs], PRODUCT),
                      "eng→xx": ([data["per_lang"][x]["en2xx"] for x in langs], BASELINE)}, "accuracy@1 (%)")
    ax.set_ylim(0, 100)
    ax.set_title("Tatoeba: Embedder.encode_queries, nearest neighbour")
    fig.tight_layout()
    return fig


def _ingest(data: dict[str, Any]) -> Any:
    row = data["rounds"][0]
    stages = ["load", "detect", "chunk", "embed", "write"]
    fig, ax = plt.subplots(figsize=(7, 3))
    left = {"product": 0.0, "baseline": 0.0}
    for n, stage in enumerate(stages):
        for system in left:
            value = row[system]["stage_s"].get(stage, 0.0)
            label = stage if system == "product" else None
            ax.barh(system, value, left=left[system], color=plt.cm.tab10(n), label=label)
            left[system] += value
    ax.set_xlabel("seconds (one run, same corpus)")
    ax.set_title("Ingest time by stage")
    ax.legend(fontsize=8, ncol=5, loc="upper center", bbox_to_anchor=(0.5, -0.3))
    fig.tight_layout()
    return fig


def _latency(data: dict[str, Any]) -> Any:
    sizes = [s for s in data["sizes"] if "modes" in data["sizes"][s]]
    fig, ax = plt.subplots(figsize=(7, 4))
    modes = list(data["sizes"][sizes[0]]["modes"]) if sizes else []
    for mode in modes:
        points = [(int(s), data["sizes"][s]["modes"][mode]["wall_ms"]["p50"]) for s in sizes
                  if "wall_ms" in data["sizes"][s]["modes"].get(mode, {})]
        if not points:
            continue
        ax.plot(*zip(*points), marker="o", label=f"product: {mode}")
    base = [(int(s), data["sizes"][s]["baseline"]["wall_ms"]["p50"]) for s in sizes]
    if base:
        ax.plot(*zip(*base), marker="s", linestyle="--", color="black", label="baseline")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("chunks in the index")
    ax.set_ylabel("p50 latency (ms)")
    ax.set_title("End-to-end query latency (k=10)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
