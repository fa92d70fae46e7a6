"""The NLI reranker section of the report: held-out XNLI accuracy, reranking quality and reranking latency."""

from __future__ import annotations

from typing import Any

import numpy as np

from bench.md import fmt, runs_table, table

#: Result files of the standalone NLI benchmarks (``python -m bench.<name>``), in the order they are reported.
NLI_NAMES = ("nli_xnli", "rerank_xquad", "rerank_latency")
TITLE = "5. NLI reranker"


def render_nli(results: dict[str, dict[str, Any]]) -> str:
    """The whole NLI section, with a part for each result file present.

    Args:
        results: benchmark name -> its JSON, for the files of :data:`NLI_NAMES` that exist.

    Returns:
        The Markdown section (heading included).
    """
    commands = ", ".join(f"`python -m bench.{name}`" for name in NLI_NAMES)
    parts = [
        f"## {TITLE}\n",
        "`search(..., rerank=True)` scores the vector search's top candidates with the shipped NLI cross-encoder "
        "and adds its decisiveness to the vector score. These benchmarks run on their own, not through "
        f"`python -m bench`: {commands} (each writes `bench/results/<name>.json`).\n",
        runs_table(results),
    ]
    renderers = {"nli_xnli": _xnli, "rerank_xquad": _rerank_quality, "rerank_latency": _latency}
    parts += [renderers[name](results[name]) for name in NLI_NAMES if name in results]
    return "\n".join(parts)


def _pct(value: float | None) -> str:
    return fmt(None if value is None else 100 * value)


def _xnli(data: dict[str, Any]) -> str:
    acc, cross = data["accuracy"], data.get("cross_en_hypothesis") or {}
    rows = [[lang, _pct(value), _pct(cross.get(f"{lang}-en"))] for lang, value in acc.items() if lang != "avg"]
    rows.append(["**average**", _pct(acc.get("avg")), _pct(data.get("cross_avg"))])
    cross_line = ""
    if data.get("cross_avg") is not None:
        cross_line = (
            f" With the premise in the language and the claim in English (the product's usual case), "
            f"{_pct(data['cross_avg'])} %."
        )
    return "\n".join(
        [
            f"**Held-out XNLI accuracy.** Model `{data['model']}` on the {fmt(data['held_out_ids'])} XNLI-dev "
            "ids held out of its training (split by id, so no translation of a held-out pair was seen in "
            f"training); {fmt(data['pairs'])} pairs at {fmt(data['pairs_per_s'])} pairs/s. Average accuracy over "
            f"the languages: {_pct(acc.get('avg'))} %.{cross_line}\n",
            table(
                ["language", "premise and claim in the language (%)", "premise in the language, claim in English (%)"],
                rows,
            ),
        ]
    )


def _product_weight(data: dict[str, Any]) -> float:
    if "default_weight" in data:
        return data["default_weight"]
    # Files written before the weight was recorded: the product's weight was chosen from this grid (app/rerank.py).
    from app.rerank import DEFAULT_WEIGHT

    return DEFAULT_WEIGHT


def _metric(grid: dict[str, Any], weight: float, metric: str) -> float | None:
    # The grid's keys name the combination and the weight: "decisive@0.05" is score + w * (p(entail) + p(contradict)).
    return grid.get(f"decisive@{weight}", {}).get(metric)


def _cell(block: dict[str, Any], template: str, weight: float, metric: str) -> float | None:
    return _metric(block.get(template, {}), weight, metric)


def _rerank_quality(data: dict[str, Any]) -> str:
    weight, k, xquad = _product_weight(data), data["k"], data["xquad"]
    # (hypothesis, weight, metric) per column; at weight 0 the hypothesis does not matter.
    metrics = [
        (template, w, metric)
        for template, w in (("none", 0.0), ("none", weight), ("about", weight))
        for metric in ("r1", "mrr")
    ]
    rows = [[lang, *[_cell(block, *m) for m in metrics]] for lang, block in xquad.items()]
    rows.append(["**mean**", *[_mean([_cell(block, *m) for block in xquad.values()]) for m in metrics]])
    head = [
        "corpus language",
        "vector R@1",
        f"vector MRR@{k}",
        "reranked R@1",
        f"reranked MRR@{k}",
        "reranked, keyword template R@1",
        f"reranked, keyword template MRR@{k}",
    ]
    return "\n".join(
        [
            f"**Does reranking help?** XQuAD: {fmt(data['questions'])} English questions (seeded sample) against "
            f"the paragraphs of each corpus language; e5 retrieves the top {k} and the NLI model reranks them by "
            f"vector score + w × (p(entail) + p(contradict)), with the product's w = {fmt(weight, 2)}. The "
            "hypothesis is the question as typed (the product's default) or the keyword template "
            f'"This text is about {{query}}.". R@1 and MRR@{k} of the gold paragraph, in %.\n',
            table(head, rows),
            _weights(xquad, k, weight),
            _claims(data, weight),
        ]
    )


def _weights(xquad: dict[str, Any], k: int, weight: float) -> str:
    weights = sorted(
        {float(key.split("@")[1]) for block in xquad.values() for key in block["none"] if key.startswith("decisive@")}
    )
    rows = []
    for w in weights:
        label = "0 (vector only)" if w == 0 else f"**{fmt(w, 2)}** (product)" if w == weight else fmt(w, 2)
        rows.append(
            [
                label,
                *[
                    _mean([_cell(block, template, w, metric) for block in xquad.values()])
                    for template in ("none", "about")
                    for metric in ("r1", "mrr")
                ],
            ]
        )
    return "By weight, mean over the corpus languages (%):\n\n" + table(
        ["w", "R@1", f"MRR@{k}", "keyword template R@1", f"keyword template MRR@{k}"], rows
    )


def _claims(data: dict[str, Any], weight: float) -> str:
    checks = data.get("claims_check") or {}
    if not checks:
        return ""
    labels = list(next(iter(checks.values()))["by_label"])
    rows = []
    for lang, check in checks.items():
        by_label = check["by_label"]
        cells = [f"{fmt(_metric(by_label[y], 0.0, 'r1'))} → {fmt(_metric(by_label[y], weight, 'r1'))}" for y in labels]
        counts = " / ".join(fmt(by_label[y]["decisive@0.0"]["n"]) for y in labels)
        rows.append([lang, check.get("stance_accuracy"), *cells, counts])
    head = [
        "premise language",
        "stance right (%)",
        *[f"{y}: R@1 vector → reranked" for y in labels],
        f"claims ({' / '.join(labels)})",
    ]
    return "\n".join(
        [
            f"Claim check: {fmt(data['claims'])} English XNLI claims (held-out ids, seeded sample) against the "
            "held-out premises of each language. The gold premise supports (entailment), contradicts or is neutral "
            f"to its claim; R@1 of the gold premise without and with reranking (w = {fmt(weight, 2)}), by label, "
            "and how often the model's stance for a retrieved gold premise matches the XNLI label.\n",
            table(head, rows),
        ]
    )


def _mean(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return round(float(np.mean(present)), 2) if present else None


def _latency(data: dict[str, Any]) -> str:
    ms = data["ms"]
    return (
        f"**Latency.** `rerank` end to end (NLI scoring included) on {fmt(data['candidates'])} candidates of "
        f"{fmt(data['mean_tokens'], 0)} tokens on average, {fmt(data['threads'])} torch thread(s), "
        f"{fmt(data['repeats'])} runs after a warm-up: p50 {fmt(ms['p50'], 0)} ms, p95 {fmt(ms['p95'], 0)} ms "
        f"(mean {fmt(ms['mean'], 0)} ms).\n"
    )
