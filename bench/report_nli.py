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
            _badges(data),
        ]
    )


def _badges(data: dict[str, Any]) -> str:
    badges = data.get("badges")
    if not badges:
        return ""
    rows = []
    for lang, stats in badges.items():
        if lang != "all" and "-" not in lang:
            cross = badges.get(f"{lang}-en", {})
            rows.append([lang, _pct(stats["precision"]), _pct(stats["coverage"]), _pct(cross.get("precision")),
                         _pct(cross.get("coverage"))])  # fmt: skip
    total, cross = badges["all"], data.get("badges_cross") or {}
    rows.append(["**all**", _pct(total["precision"]), _pct(total["coverage"]), _pct(cross.get("precision")),
                 _pct(cross.get("coverage"))])  # fmt: skip
    return "\n".join(
        [
            f"\n**Stance badges.** A badge is shown when the calibrated top probability is at least "
            f"{fmt(data['badge_threshold'], 2)} (fitted by `python -m indexer.nli.calibrate` on the other half of the "
            "held-out ids); otherwise the result says *unclear*. Precision of the badges shown and the share of pairs "
            f"that get one, on the {fmt(total['n'])} pairs of the half of the held-out ids that calibration did not "
            "see, in %.\n",
            table(["language", "precision", "with a badge", "claim in English: precision", "with a badge"], rows),
        ]
    )


def _product_weight(data: dict[str, Any]) -> float:
    if "default_weight" in data:
        return data["default_weight"]
    # Files written before the weight was recorded: the product's weight was chosen from this grid (app/rerank.py).
    from app.rerank import DEFAULT_WEIGHT

    return DEFAULT_WEIGHT


def _metric(grid: dict[str, Any], weight: float, metric: str, kind: str = "decisive") -> float | None:
    # The grid's keys name the combination and the weight: "decisive@0.05" is score + w * (p(entail) + p(contradict))
    # for every query; "product@0.05" the same for the queries that read as claims, the vector order for the rest.
    return grid.get(f"{kind}@{weight}", grid.get(f"decisive@{weight}", {}) if kind == "product" else {}).get(metric)


def _cell(block: dict[str, Any], template: str, weight: float, metric: str) -> float | None:
    return _metric(block.get(template, {}), weight, metric)


def _rerank_quality(data: dict[str, Any]) -> str:
    weight, k, xquad = _product_weight(data), data["k"], data["xquad"]
    if not xquad:
        return _claims(data, weight)
    # (hypothesis, weight, metric) per column; at weight 0 the hypothesis does not matter.
    metrics = [
        (template, w, metric)
        for template, w in (("none", 0.0), ("none", weight), ("about", weight))
        for metric in ("r1", "mrr")
    ]
    rows = [[lang, *[_cell(block, *m) for m in metrics]] for lang, block in xquad.items()]
    rows.append(["**mean**", *[_mean([_cell(block, *m) for block in xquad.values()]) for m in metrics]])
    product = [_metric(block["none"], weight, "mrr", "product") for block in xquad.values()]
    for row, value in zip(rows, [*product, _mean(product)], strict=True):
        row.append(value)
    head = [
        "corpus language",
        "vector R@1",
        f"vector MRR@{k}",
        "reranked R@1",
        f"reranked MRR@{k}",
        "reranked, keyword template R@1",
        f"reranked, keyword template MRR@{k}",
        f"product MRR@{k} (claims only reordered)",
    ]
    return "\n".join(
        [
            f"**Does reranking help?** XQuAD: {fmt(data['questions'])} English questions (seeded sample) against "
            f"the paragraphs of each corpus language; e5 retrieves the top {k} and the NLI model reranks them by "
            f"vector score + w × (p(entail) + p(contradict)), with the product's w = {fmt(weight, 2)}. The "
            "hypothesis is the question as typed (the product's default) or the keyword template "
            f'"This text is about {{query}}.". R@1 and MRR@{k} of the gold paragraph, in %.\n',
            table(head, rows),
            _kinds(data),
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
        cells = [
            f"{fmt(_metric(by_label[y], 0.0, 'r1'))} → {fmt(_metric(by_label[y], weight, 'r1', 'product'))}"
            for y in labels
        ]
        counts = " / ".join(fmt(by_label[y]["decisive@0.0"]["n"]) for y in labels)
        rows.append([lang, check.get("stance_accuracy"), *cells, counts])
    head = [
        "premise language",
        "stance right (%)",
        *[f"{y}: R@1 vector → reranked" for y in labels],
        f"claims ({' / '.join(labels)})",
    ]
    half = {"evaluation": "the half of the held-out ids not used to choose w", "calibration": "the calibration half"}
    source = half.get(data.get("claim_ids", "all"), "held-out ids")
    return "\n".join(
        [
            f"Claim check: {fmt(data['claims'])} English XNLI claims ({source}, seeded sample) against the "
            "held-out premises of each language. The gold premise supports (entailment), contradicts or is neutral "
            f"to its claim; R@1 of the gold premise without and with reranking (w = {fmt(weight, 2)}), by label, "
            "and how often the model's stance for a retrieved gold premise matches the XNLI label.\n",
            table(head, rows),
        ]
    )


def _kinds(data: dict[str, Any]) -> str:
    kinds = data.get("query_kinds")
    if not kinds:
        return ""
    questions, hyps = kinds["xquad_questions"], kinds["xnli_hypotheses"]
    share = fmt(_mean(list(questions.values())))
    return (
        f"The product reorders only queries that read as claims (`app/claims.py`): {share} % "
        f"of the XQuAD questions (12 languages; highest {fmt(max(questions.values()))} %) and "
        f"{fmt(_mean(list(hyps.values())))} % of the XNLI-dev hypotheses (15 languages; lowest "
        f"{fmt(min(hyps.values()))} %) read as claims.\n"
    )


def _mean(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return round(float(np.mean(present)), 2) if present else None


def _latency(data: dict[str, Any]) -> str:
    ms = data["ms"]
    runtimes = data.get("runtimes") or {}
    head = (
        f"**Latency.** `rerank` end to end (NLI scoring included) on {fmt(data['candidates'])} candidates of "
        f"{fmt(data['mean_tokens'], 0)} tokens on average, {fmt(data['threads'])} thread(s), "
        f"{fmt(data['repeats'])} runs after a warm-up"
    )
    if not runtimes:
        return f"{head}: p50 {fmt(ms['p50'], 0)} ms, p95 {fmt(ms['p95'], 0)} ms (mean {fmt(ms['mean'], 0)} ms).\n"
    base = runtimes.get("torch", {}).get("p50")
    rows = [
        [name, fmt(t["p50"], 0), fmt(t["p95"], 0), fmt(base / t["p50"], 2) if base else None]
        for name, t in runtimes.items()
    ]
    parts = [
        f"{head}, by runtime (ms; speed-up against torch in the same run):\n",
        table(["runtime", "p50", "p95", "× torch"], rows),
    ]
    service = data.get("service")
    if service:
        parts.append(
            f"Inside `SearchService.search(..., k={fmt(data['candidates'])}, stance=True)` with the product runtime: "
            f"p50 {fmt(service['stance_ms']['p50'], 0)} ms against {fmt(service['plain_ms']['p50'], 0)} ms without "
            f"stance, so the NLI stage takes {fmt(service['nli_p50_ms'], 0)} ms (p50).\n"
        )
    return "\n".join(parts)
