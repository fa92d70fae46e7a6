"""OCR page by page: the script detected by OSD picks the language packs, turned pages are read upright,
each page reports progress and has its own time bound, and a missing Tesseract is a clear report entry.

Pages are rendered by the OCR benchmark's own renderer (Noto fonts from Debian, 300 dpi); scripts/test.sh
installs Tesseract, its OSD and language packs and the fonts; under CI=true their absence fails these tests.
"""

from __future__ import annotations

import io
import os
import shutil
import stat
import time
from pathlib import Path

import pytest
from PIL import Image

from bench.ocr import PAGES, cer, render
from indexer.errors import LoaderError
from indexer.loaders import LoadLimits, load_file
from indexer.loaders.isolate import LoaderWorker
from indexer.loaders.ocr import MISSING_REASON, ocr_note
from indexer.loaders.ocr_script import installed_languages, languages_for

#: The script's pack, and the accuracy asked of it on a clean 300-dpi page.
EXPECTED = {"Latin": ("eng", 0.95), "Cyrillic": ("rus", 0.95), "Arabic": ("ara", 0.85),
            "Chinese": ("chi_sim", 0.85), "Devanagari": ("hin", 0.85)}  # fmt: skip
DETECTED_AS = {"Latin": ("Latin", "Cyrillic"), "Cyrillic": ("Latin", "Cyrillic"), "Arabic": ("Arabic",),
               "Chinese": ("Han",), "Devanagari": ("Devanagari",)}  # fmt: skip


@pytest.fixture(scope="module", autouse=True)
def tesseract() -> None:
    missing = [str(font) for _, font, _, _ in PAGES.values() if not font.exists()]
    if shutil.which("tesseract") is None:
        missing.append("tesseract")
    else:
        packs = installed_languages(shutil.which("tesseract") or "tesseract")
        missing += [f"tesseract pack {name}" for name in ("osd", *(lang for lang, _ in EXPECTED.values()))
                    if name not in packs]  # fmt: skip
    if missing:
        message = f"not installed: {', '.join(missing)}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message}: scripts/test.sh installs them")
        pytest.skip(message)


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG", dpi=(300, 300))
    return buffer.getvalue()


def scanned_pdf(pages: list[Image.Image]) -> bytes:
    buffer = io.BytesIO()
    pages[0].save(buffer, "PDF", resolution=300, save_all=True, append_images=pages[1:])
    return buffer.getvalue()


@pytest.mark.parametrize("script", sorted(EXPECTED))
def test_each_script_is_read_with_its_own_packs(tmp_path: Path, script: str) -> None:
    (tmp_path / "page.png").write_bytes(png(render(script)))
    [document] = load_file(tmp_path / "page.png")
    pack, target = EXPECTED[script]
    assert document.metadata["ocr_scripts"]["1"] in DETECTED_AS[script]
    assert pack in document.metadata["ocr"].split("+")
    # Not every installed pack at once: that is slower and reads worse.
    assert len(document.metadata["ocr"].split("+")) <= 3
    assert 1 - cer("\n".join(PAGES[script][2]), document.text) >= target, document.text


@pytest.mark.parametrize("rotate", [90, 180, 270])
def test_turned_pages_are_read_upright(tmp_path: Path, rotate: int) -> None:
    (tmp_path / "turned.png").write_bytes(png(render("Cyrillic", rotate)))
    [document] = load_file(tmp_path / "turned.png")
    # Rendered turned counter-clockwise, so turned back clockwise by as much.
    assert document.metadata["ocr_rotated"] == {"1": rotate}
    assert 1 - cer("\n".join(PAGES["Cyrillic"][2]), document.text) >= 0.95, document.text


def test_an_explicit_setting_is_used_as_given(tmp_path: Path) -> None:
    (tmp_path / "page.png").write_bytes(png(render("Latin")))
    [document] = load_file(tmp_path / "page.png", limits=LoadLimits(ocr_languages="eng"))
    assert document.metadata["ocr"] == "eng"


@pytest.mark.parametrize(
    ("script", "installed", "expected"),
    [
        ("Latin", ("eng", "osd", "rus"), "eng+rus"),
        ("Cyrillic", ("eng", "rus", "ukr"), "rus+ukr+eng"),
        ("Japanese", ("chi_sim", "eng"), "chi_sim"),
        ("Arabic", ("ara", "eng", "fas"), "ara+fas"),
        ("Devanagari", ("eng",), ""),
        ("Fraktur", ("eng",), ""),
    ],
)
def test_languages_for_a_script(script: str, installed: tuple[str, ...], expected: str) -> None:
    assert languages_for(script, installed) == expected


def fake_tesseract(tmp_path: Path, slow_call: int) -> Path:
    """A tesseract command that passes everything on to the real one, except that its ``slow_call``-th
    text recognition (not OSD, not the language list) sleeps for a minute instead."""
    real = shutil.which("tesseract")
    counter = tmp_path / "calls"
    script = tmp_path / "slow-tesseract"
    script.write_text(f"""#!/bin/sh
case "$*" in *--psm\\ 0*|*--list-langs*) exec {real} "$@";; esac
echo x >> {counter}
if [ "$(wc -l < {counter})" -eq {slow_call} ]; then exec sleep 60; fi
exec {real} "$@"
""")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script


def test_a_page_past_its_time_bound_fails_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import pytesseract

    monkeypatch.setattr(pytesseract.pytesseract, "tesseract_cmd", str(fake_tesseract(tmp_path, slow_call=2)))
    pages = [render("Latin"), render("Cyrillic"), render("Latin")]
    (tmp_path / "scan.pdf").write_bytes(scanned_pdf(pages))
    seen: list[tuple[str, int, int]] = []
    start = time.monotonic()
    limits = LoadLimits(ocr_page_timeout_s=15)
    [document] = load_file(tmp_path / "scan.pdf", limits=limits, on_page=lambda *event: seen.append(event))
    assert time.monotonic() - start < 50, "the slow page was stopped at its bound"
    assert seen == [("scan.pdf", 1, 3), ("scan.pdf", 2, 3), ("scan.pdf", 3, 3)]
    assert document.metadata["ocr_pages"] == [1, 3]
    assert document.metadata["ocr_failed_pages"] == [[2, "OCR took longer than 15 s; stopped (ocr_page_timeout_s)"]]
    # The second page keeps its number: it starts (empty) where the first ends; the third after a blank line.
    starts = document.metadata["page_starts"]
    first, third = document.text[: starts[1]], document.text[starts[2] :]
    assert starts[0] == 0 and starts[2] == starts[1] + 2 and first == third
    assert 1 - cer("\n".join(PAGES["Latin"][2]), first) >= 0.95


def test_the_worker_reports_each_page_and_extends_the_file_bound(tmp_path: Path) -> None:
    pages = [render("Latin") for _ in range(4)]
    (tmp_path / "long.pdf").write_bytes(scanned_pdf(pages))
    seen: list[tuple[str, int, int]] = []
    # One second for the file: four pages of OCR take longer, but each page started extends the bound.
    limits = LoadLimits(load_timeout_s=1, ocr_page_timeout_s=60, ocr_languages="eng")
    with LoaderWorker(limits) as worker:
        start = time.monotonic()
        [document], note = worker.load(tmp_path / "long.pdf", "long.pdf", lambda *event: seen.append(event))
        elapsed = time.monotonic() - start
    assert elapsed > 1, "the premise: the scan takes longer than load_timeout_s"
    assert seen == [("long.pdf", page, 4) for page in (1, 2, 3, 4)]
    assert document.metadata["ocr_pages"] == [1, 2, 3, 4] and note == ""


def test_a_slow_page_is_named_in_the_report_note(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The worker runs the command pytesseract finds on PATH: a folder whose "tesseract" is the slow one.
    fake = fake_tesseract(tmp_path, slow_call=1)
    folder = tmp_path / "bin"
    folder.mkdir()
    (folder / "tesseract").symlink_to(fake)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    (tmp_path / "two.pdf").write_bytes(scanned_pdf([render("Latin"), render("Latin")]))
    with LoaderWorker(LoadLimits(load_timeout_s=5, ocr_page_timeout_s=15, ocr_languages="eng")) as worker:
        [document], note = worker.load(tmp_path / "two.pdf", "two.pdf")
    assert note == "OCR failed on page 1: OCR took longer than 15 s; stopped (ocr_page_timeout_s)"
    assert document.metadata["ocr_pages"] == [2] and "ocr_failed_pages" not in document.metadata


def mixed_pdf() -> bytes:
    """Page 1 with a text layer, page 2 a scan."""
    from pypdf import PdfReader, PdfWriter
    from reportlab.pdfgen import canvas

    text_page = io.BytesIO()
    pdf = canvas.Canvas(text_page)
    pdf.drawString(72, 720, "A page with a text layer.")
    pdf.save()
    writer = PdfWriter()
    writer.add_page(PdfReader(text_page).pages[0])
    writer.add_page(PdfReader(io.BytesIO(scanned_pdf([render("Latin")]))).pages[0])
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_a_missing_tesseract_command_skips_the_scans(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import pytesseract

    monkeypatch.setattr(pytesseract.pytesseract, "tesseract_cmd", str(tmp_path / "no-such-tesseract"))
    (tmp_path / "mixed.pdf").write_bytes(mixed_pdf())
    [document] = load_file(tmp_path / "mixed.pdf")
    assert document.text == "A page with a text layer." and document.metadata["ocr_skipped_pages"] == [2]
    assert ocr_note([document]) == f"OCR skipped: 1 page(s) without a text layer not read (page 2): {MISSING_REASON}"
    assert "ocr_skipped_pages" not in document.metadata, "the note takes the key out of the metadata"


def test_without_tesseract_scans_are_skipped_with_a_note(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The worker finds no tesseract on its PATH.
    (tmp_path / "mixed.pdf").write_bytes(mixed_pdf())
    (tmp_path / "photo.png").write_bytes(png(render("Latin")))
    monkeypatch.setenv("PATH", str(tmp_path / "nothing-here"))
    with LoaderWorker(LoadLimits(ocr_languages="eng")) as worker:
        [document], note = worker.load(tmp_path / "mixed.pdf", "mixed.pdf")
        with pytest.raises(LoaderError) as caught:
            worker.load(tmp_path / "photo.png", "photo.png")
    assert document.text == "A page with a text layer."
    assert note == f"OCR skipped: 1 page(s) without a text layer not read (page 2): {MISSING_REASON}"
    assert caught.value.reason == MISSING_REASON


def test_ingest_reports_each_ocr_page_and_results_name_it(tiny_service, tmp_path: Path) -> None:
    (tmp_path / "scan.pdf").write_bytes(scanned_pdf([render("Latin"), render("Cyrillic")]))
    events = []
    report = tiny_service.ingest([tmp_path / "scan.pdf"], "scans", progress=events.append)
    assert [f.status for f in report.files] == ["added"]
    ocr = [(e.current, e.files_done, e.files_total) for e in events if e.stage == "ocr"]
    assert ocr == [("scan.pdf — OCR page 1 of 2", 0, 1), ("scan.pdf — OCR page 2 of 2", 0, 1)]
    pages = {r.page for r in tiny_service.search("Комитет утвердил новый бюджет", k=20).results}
    assert pages == {1, 2}
