"""The generated report's cross-language section: balanced and hybrid search on full and partial corpora."""

from __future__ import annotations

from typing import Any

from bench.crosslang import CALIBRATION_OFFSETS, REFERENCE
from bench.md import fmt, table

_MODE_HEAD = [
    "mode",
    "R@1, any version (%)",
    "R@10, any version (%)",
    "versions of the gold paragraph in the top 5",
    "top-10 results in the query's language (%)",
]


def render_crosslang(data: dict[str, Any]) -> str:
    """Full and partial corpora by mode, hybrid across languages, name/number lookup, short-query language."""
    cfg = data["config"]
    if "partial" not in data:  # a result file from before the partial corpora
        return _render_old(data)
    out = [
        f"Product searches (`SearchService.search_many`, {cfg.get('embedder', 'default')} embeddings), no "
        f"language filter, top {cfg['top']} results; {_sample(cfg)}. "
        "The machine was shared while this ran (load average in the Runs table).\n",
        f"**Partial-language corpus**: each paragraph kept in {cfg['keep_languages']} seeded-random languages of "
        f"the {len(cfg['languages'])}, questions in all of them (for most, the answer exists only in other "
        f"languages). Mean over seeds {', '.join(map(str, cfg['report_seeds']))}:\n",
        table(_MODE_HEAD, [_mode_row(mode, r) for mode, r in data["partial_mean"].items()]),
    ]
    if REFERENCE in data["partial_mean"]:
        out.append(
            f"\n*{REFERENCE}* is not a product mode. It takes the same per-language searches of the "
            "user's query, groups the passages by their true paragraph (which the product must guess), ranks the "
            "groups by the mean of their three best calibrated scores, and lists the best group's versions, then "
            "the best passage of each next group (`bench/crosslang_ceiling.py`). It shows what ordering by "
            "calibrated scores could reach with perfect version detection. It is a reference, not a bound: on the "
            "full corpus, where the query's own language always holds the answer, the product's rule that keeps "
            "the plain top hit first does better on R@1.\n"
        )
    per_seed = [
        [seed, mode, r["r1_any_language"], r["r10_any_language"], r["gold_versions_in_top5"]]
        for seed, modes in data["partial"].items()
        for mode, r in modes.items()
    ]
    out += ["\nPer seed:\n", table(["seed", "mode", "R@1 (%)", "R@10 (%)", "versions in top 5"], per_seed)]
    full = [
        [
            mode,
            r["gold_versions_in_top12"],
            r["r1_any_language"],
            r["r10_any_language"],
            r["own_language_share_top10"],
            r["ms_per_query"],
            r["queries"],
        ]
        for mode, r in data["balance"].items()
    ]
    out += [
        f"\n**Full mixed corpus** ({len(cfg['languages'])} languages, every paragraph in each):\n",
        table(
            [
                "mode",
                "versions of the gold paragraph in the top 12",
                "R@1, any version (%)",
                "R@10, any version (%)",
                "top-10 results in the query's language (%)",
                "ms / query",
                "queries",
            ],
            full,
        ),
    ]
    cross = data["cross_lingual"]
    rows = [
        [mode, s["en2x"]["r1"], s["en2x"]["r10"], s["x2en"]["r1"], s["x2en"]["r10"], s["en2x"]["queries"]]
        for mode, s in cross.items()
    ]
    out += [
        f"\n**Hybrid across languages** (language filter; {cfg['cross_questions_per_language']} questions per "
        "language pair):\n",
        table(["mode", "en→X R@1", "en→X R@10", "X→en R@1", "X→en R@10", "queries"], rows),
    ]
    out += [
        f"\n**Name/number lookup**: {cfg['lookup_questions']} questions whose answer is a number or (cased "
        "scripts) a capitalised name, searched in their own language.\n",
        table(
            ["mode", "R@1 (%)", "R@10 (%)", "queries"],
            [[mode, r.get("r1"), r["r10"], r["queries"]] for mode, r in data["lookup"].items()],
        ),
    ]
    short = data["short_query_language"]
    out += [
        "\n**Language of two-word queries** (the first two words of each question, four characters in Chinese "
        "and Thai): the detector alone, and the product (the detector where it is confident, else the nearest "
        "language centroid of the query's embedding, else unknown).\n",
        table(
            ["", "right (%)", "wrong (%)", "unknown (%)", "queries"],
            [[name, r["right"], r["wrong"], r["unknown"], r["queries"]] for name, r in short.items()],
        ),
    ]
    return "\n".join(out)


def _sample(cfg: dict[str, Any]) -> str:
    """Which questions were asked, and which ones the rules were chosen on."""
    offsets = cfg.get("question_offsets", [3])  # results from before the pooled sample asked the 4th only
    calibration = cfg.get("calibration_offsets", CALIBRATION_OFFSETS)
    return (
        f"{cfg['balance_questions_per_language']} questions per language (evenly spaced: the "
        f"{_ordinals(offsets)} question of each step; the thresholds were chosen on the calibration seed "
        f"({cfg['calibration_seed']}) and later rules also on seeds 4 and 5, with the {_ordinals(calibration)} "
        "questions of each step; none is tuned on the figures below)"
    )


def _ordinals(offsets: list[int]) -> str:
    """0-based offsets as English ordinals: "1st, 3rd and 5th"."""
    words = [f"{n + 1}{'th' if 10 <= (n + 1) % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get((n + 1) % 10, 'th')}"
             for n in offsets]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _mode_row(mode: str, r: dict[str, Any]) -> list[Any]:
    return [
        mode,
        fmt(r["r1_any_language"]),
        fmt(r["r10_any_language"]),
        fmt(r["gold_versions_in_top5"], 2),
        fmt(r["own_language_share_top10"]),
    ]


def _render_old(data: dict[str, Any]) -> str:
    cfg = data["config"]
    rows = [
        [
            mode,
            r["gold_versions_in_top12"],
            r["r1_any_language"],
            r["own_language_share_top10"],
            r["ms_per_query"],
            r["queries"],
        ]
        for mode, r in data["balance"].items()
    ]
    return "\n".join(
        [
            f"Mixed corpus of {len(cfg['languages'])} languages, questions in every language; top {cfg['top']}.\n",
            table(
                [
                    "mode",
                    "language versions of the gold paragraph in the top 12",
                    "R@1, any version (%)",
                    "top-10 results in the query's language (%)",
                    "ms / query",
                    "queries",
                ],
                rows,
            ),
        ]
    )
