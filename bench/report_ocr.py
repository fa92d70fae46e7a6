"""The OCR section of the report: character accuracy per script, by how the Tesseract languages were chosen."""

from __future__ import annotations

from typing import Any

from bench.md import fmt, runs_table, table

NAME = "ocr"
TITLE = "6. OCR accuracy per script"
#: Accuracy the issue asks for on clean 300-dpi scans.
TARGETS = {"Latin": 0.95, "Cyrillic": 0.95, "Arabic": 0.85, "Chinese": 0.85, "Devanagari": 0.85}


def render_ocr(data: dict[str, Any]) -> str:
    """The OCR section (heading included) from ``bench/results/ocr.json``.

    Args:
        data: the result of ``python -m bench.ocr``.

    Returns:
        Markdown.
    """
    rows = []
    for script, row in data["scripts"].items():
        rotated = [row["rotated"][r]["accuracy"] for r in sorted(row["rotated"], key=int)]
        target = TARGETS.get(script)
        met = "" if target is None else ("yes" if row["detected"]["accuracy"] >= target else "**no**")
        rows.append([script, f"`{row['detected']['languages']}` ({row['detected']['script'] or '?'})",
                     _pct(row["detected"]), _pct(row["explicit"]), _pct(row["all_installed"]),
                     " / ".join(f"{100 * a:.1f}" for a in rotated), _pct(row["degraded"]),
                     _pct(row["degraded_explicit"]), f"{fmt(target * 100, 0)} % {met}" if target else ""])  # fmt: skip
    head = ["script", "languages chosen (OSD script)", "detected", "explicit", "all installed",
            "turned 90/180/270", "degraded", "degraded, explicit", "target met"]  # fmt: skip
    seconds = data["seconds"]
    parts = [
        f"## {TITLE}\n",
        "`python -m bench.ocr` (not part of `python -m bench`) renders sentences written for the benchmark in five "
        f"scripts at {data['dpi']} dpi ({data['font_px']}-pixel, i.e. 12-point Noto fonts from Debian), one page "
        "each, and reads them back with the product's loader. Character accuracy in % (1 - CER, whitespace "
        "removed): *detected* is the default (`ocr_languages` empty: Tesseract's OSD names the script, the "
        "page is turned upright and read with that script's packs); *explicit* names the right language; "
        f"*all installed* reads with every pack at once (`{data['installed']}`, the old default, the baseline); "
        "*turned* are the same pages rotated, with detection; *degraded* is a poorer copy (1.5° skew, blur, 2 % "
        "speckle, JPEG quality 40).\n",
        table(head, rows),
        f"Mean CER: detected {fmt(data['mean_cer']['detected'], 4)}, explicit {fmt(data['mean_cer']['explicit'], 4)}, "
        f"all installed {fmt(data['mean_cer']['all_installed'], 4)}, turned {fmt(data['mean_cer']['rotated'], 4)}, "
        f"degraded {fmt(data['mean_cer']['degraded'], 4)}. Reading the five upright pages took "
        f"{fmt(seconds['detected'], 1)} s with detection (OSD included) and {fmt(seconds['all_installed'], 1)} s "
        f"with every pack (× {fmt(seconds['detected_over_all_installed'], 2)}; both in the same run, so the ratio "
        "holds on a loaded machine: see the load average below). *Target met* compares the detected column with the "
        "issue's targets for clean 300-dpi scans.\n",
        "What this does not show: the pages are rendered, not scanned (no paper texture, lighting or bleed-through "
        "beyond the degraded copy), each script has one page of 150-250 characters, and the text is in one font "
        'per script; clean synthetic pages are the easy case. OSD names an upright Russian page "Latin", so '
        "Latin and Cyrillic pages are read with both alphabets' first packs (`eng+rus`).\n",
        runs_table({NAME: data}),
    ]
    return "\n".join(parts)


def _pct(result: dict[str, Any]) -> str:
    return f"{100 * result['accuracy']:.1f}"
