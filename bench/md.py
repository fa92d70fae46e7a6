"""Markdown helpers for the generated report: number formatting and tables."""

from __future__ import annotations

from typing import Any


def fmt(value: Any, digits: int = 1) -> str:
    """A number for a table: fixed digits, thousands separators; "–" for missing."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return str(value)


def table(head: list[str], rows: list[list[Any]]) -> str:
    """A Markdown table (cells already formatted or formatted with ``fmt``)."""
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(c if isinstance(c, str) else fmt(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


#: Columns of a table of runs: when, where and with what each result file was measured.
RUN_HEAD = [
    "benchmark",
    "size",
    "run at (UTC)",
    "minutes",
    "CPU",
    "cores",
    "threads torch / faiss",
    "load avg 1/5/15 min (at the end)",
    "versions",
    "commit",
]


def runs_table(results: dict[str, dict[str, Any]]) -> str:
    """A table of the machine facts recorded in each result file.

    Args:
        results: benchmark name -> its JSON.

    Returns:
        The Markdown table.
    """
    rows = []
    for name, data in results.items():
        m = data["machine"]
        v = m["versions"]
        size = data.get("size", "quick" if data.get("quick") else "full")
        # The standalone benchmarks' older files have no wall time; some time their measurement as "seconds".
        wall = data.get("wall_s", data.get("seconds"))
        rows.append(
            [
                name,
                size,
                m["date"],
                fmt(None if wall is None else wall / 60, 1),
                m["cpu"],
                m["cores"],
                f"{m['torch_threads']} / {m['faiss_threads']}",
                " ".join(fmt(x, 2) for x in m["load_average"]),
                f"torch {v['torch']}, ST {v['sentence-transformers']}, faiss {v['faiss-cpu']}",
                m.get("git_commit") or "?",
            ]
        )
    return table(RUN_HEAD, rows)
