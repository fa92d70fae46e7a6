"""The approximate-index section of the report: IVF against exact search on realistic embeddings."""

from __future__ import annotations

from typing import Any

from bench.md import fmt, runs_table, table

NAME = "ann"
TITLE = "8. Approximate vector index (IVF-Flat against exact, realistic embeddings)"


def render_ann(data: dict[str, Any]) -> str:
    """The section (heading included) from ``bench/results/ann.json``.

    Args:
        data: the result of ``python -m bench.ann``.

    Returns:
        Markdown.
    """
    config = data["config"]
    parts = [
        f"## {TITLE}\n",
        "`python -m bench.ann` (not part of `python -m bench`) compares the FAISS index the product builds past "
        f"`ann_exact_below` vectors (IVF-Flat) with exact search, top-{config['k']}, {config['threads']} thread, "
        f"one query at a time. Corpus: {config['corpus']} ({config['real_vectors']:,} real vectors). Queries: "
        f"{config['queries']} {config['queries_from']}. Filtered queries ask for {config['filter']}. Recall@10 is "
        "the share of the exact top 10 that the index returns; the reported columns come from the half of the "
        "queries not used to choose the probe share.\n",
        runs_table({NAME: data}),
    ]
    for n, size in data["sizes"].items():
        rows = []
        for share, row in size["shares"].items():
            rep = row["report"]
            rows.append([share, row["nprobe"], fmt(rep["recall"], 3), fmt(rep["recall_filter"], 3),
                         fmt(rep["ms"]["p50"], 2), fmt(rep["ms"]["p95"], 2), fmt(rep["ms_filter"]["p50"], 2),
                         fmt(rep["ms_filter"]["p95"], 2), fmt(row["tune"]["recall"], 3)])  # fmt: skip
        head = ["lists visited", "nprobe", "recall@10", "recall@10 filtered", "p50 ms", "p95 ms",
                "filtered p50 ms", "filtered p95 ms", "recall@10 (tuning half)"]  # fmt: skip
        parts += [
            f"**{int(n):,} vectors** ({size['nlist']:,} lists): IVF build {fmt(size['build_s'], 1)} s; exact search "
            f"p50 {fmt(size['exact_ms']['p50'], 1)} ms (p95 {fmt(size['exact_ms']['p95'], 1)}), filtered "
            f"{fmt(size['exact_filter_ms']['p50'], 1)} ms; vectors {size['index_mb']:,} MB; peak RSS of the run "
            f"{size['peak_rss_mb']:,} MB.\n",
            table(head, rows),
        ]
    chosen = data.get("chosen_share")
    where = "on the tuning half at every size"
    parts.append(f"The smallest share reaching recall 0.97 (0.95 plus a margin; plain and filtered) {where}: "
                 f"**{chosen}**, the product's default (`indexer/ann/ivf.py`).\n" if chosen
                 else f"No share tried reached recall 0.97 {where}.\n")  # fmt: skip
    parts.append(
        "Caveats: past the real vectors the corpus is grown, and grown points are easier neighbours than real "
        "ones (recall is higher at 1M, where 98 % of the points are grown, than at 100k); the machine was shared "
        "with other work while this ran, so the millisecond columns are noisy (see the load average above): the "
        "filtered IVF times, which visit more lists the fewer ids a filter allows, were not better than the exact "
        "filtered scan in this run.\n"
    )
    return "\n".join(parts)
