"""Scans found across languages: pages in four scripts, read by OCR, found by English queries (real model)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from bench.ocr import PAGES, render

#: One subject per script, so that an English query has exactly one right page.
SCANS = {
    "Latin": ["The river dam failed after three days of heavy rain,", "and the villages below it were evacuated."],
    "Cyrillic": ["Футбольная команда города выиграла финал кубка", "со счётом три один на глазах у болельщиков."],
    "Arabic": ["افتتحت الحكومة محطة كبيرة للطاقة الشمسية في الصحراء", "لتزويد المدن بالكهرباء النظيفة."],
    "Chinese": ["卫生部门批准了一种新的流感疫苗，", "今年冬天将为老年人免费接种。"],
}


@pytest.fixture(scope="module", autouse=True)
def tesseract() -> None:
    missing = [str(PAGES[s][1]) for s in SCANS if not PAGES[s][1].exists()]
    if shutil.which("tesseract") is None:
        missing.append("tesseract")
    if missing:
        message = f"not installed: {', '.join(missing)}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message}: scripts/test.sh installs them")
        pytest.skip(message)


@pytest.mark.model
def test_scanned_pages_in_four_scripts_are_found_by_english_queries(real_embedder, tmp_path: Path) -> None:
    from app.service import SearchService
    from indexer.config import load_settings

    (tmp_path / "docs").mkdir()
    for n, (script, lines) in enumerate(SCANS.items()):
        page = render(script, lines=lines)
        if script == "Chinese":
            page.save(tmp_path / "docs" / "photo.png", dpi=(300, 300))  # a photo of a page
        else:
            page.save(tmp_path / "docs" / f"scan-{n}.pdf", "PDF", resolution=300)  # an image-only PDF
    service = SearchService(load_settings(str(tmp_path / "home"), environ={}), real_embedder)
    try:
        report = service.ingest([tmp_path / "docs"], "scans")
        assert [f.status for f in report.files] == ["added"] * 4, report.files
        expected = {"a dam burst and villages were evacuated": ("scan-0.pdf", 1),
                    "the football team won the cup final": ("scan-1.pdf", 1),
                    "a solar power plant opened in the desert": ("scan-2.pdf", 1),
                    "a new flu vaccine for old people": ("photo.png", 1)}  # fmt: skip
        for query, (source, page) in expected.items():
            top = service.search(query, k=1).results[0]
            assert (top.source_name, top.page) == (source, page), (query, top.text)
    finally:
        service.close()
