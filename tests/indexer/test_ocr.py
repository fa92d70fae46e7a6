"""OCR of images and scanned PDF pages, on sentences the tests render themselves.

Tesseract comes from Debian (scripts/test.sh installs it); under CI=true its absence fails these tests.
"""

from __future__ import annotations

import difflib
import io
import os
import shutil
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

from indexer.errors import LoaderError
from indexer.loaders import LoadLimits, load_file
from indexer.loaders.ocr import MISSING_REASON

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
# Explicit languages: "every installed pack" depends on the machine.
LIMITS = LoadLimits(ocr_languages="eng+rus")
SENTENCES = {
    "eng": "The river dam failed after three days of heavy rain.",
    "rus": "Плотина на реке прорвалась после трёх дней сильного дождя.",
}


@pytest.fixture(scope="module", autouse=True)
def tesseract() -> None:
    if shutil.which("tesseract") is None or not FONT.exists():
        message = "tesseract (Debian tesseract-ocr) or the DejaVu font is not installed"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message}: scripts/test.sh installs them")
        pytest.skip(message)


def scan(lines: list[str], width: int = 2400) -> Image.Image:
    """Lines drawn black on white at about 300 dpi (a 12-point font is 50 pixels high)."""
    font = ImageFont.truetype(str(FONT), 50)
    image = Image.new("L", (width, 120 + 90 * len(lines)), 255)
    draw = ImageDraw.Draw(image)
    for number, line in enumerate(lines):
        draw.text((100, 60 + 90 * number), line, font=font, fill=0)
    return image


def accuracy(expected: str, found: str) -> float:
    return difflib.SequenceMatcher(None, expected, " ".join(found.split())).ratio()


@pytest.mark.parametrize("language", sorted(SENTENCES))
@pytest.mark.parametrize("kind", ["png", "jpeg", "tiff", "webp"])
def test_image_text_is_read(tmp_path: Path, language: str, kind: str) -> None:
    buffer = io.BytesIO()
    scan([SENTENCES[language]]).save(buffer, kind.upper())
    (tmp_path / f"scan.{kind}").write_bytes(buffer.getvalue())
    [document] = load_file(tmp_path / f"scan.{kind}", limits=LIMITS)
    assert accuracy(SENTENCES[language], document.text) >= 0.95, document.text
    assert document.metadata["pages"] == 1 and document.metadata["ocr"] == "eng+rus"


def test_scanned_pdf_pages_are_read_and_text_layers_kept(tmp_path: Path) -> None:
    canvas = pytest.importorskip("reportlab.pdfgen.canvas")
    from pypdf import PdfReader, PdfWriter

    # Page 1: an image only (a scan); page 2: a text layer, which is kept as it is.
    buffer = io.BytesIO()
    scan([SENTENCES["rus"]]).save(buffer, "PDF", resolution=300)
    text_page = io.BytesIO()
    pdf = canvas.Canvas(text_page)
    pdf.drawString(72, 720, "A page with a text layer.")
    pdf.save()
    writer = PdfWriter()
    for source in (buffer, text_page):
        writer.add_page(PdfReader(io.BytesIO(source.getvalue())).pages[0])
    out = io.BytesIO()
    writer.write(out)
    (tmp_path / "scan.pdf").write_bytes(out.getvalue())
    [document] = load_file(tmp_path / "scan.pdf", limits=LIMITS)
    first, second = document.text.split("\n\n")
    assert accuracy(SENTENCES["rus"], first) >= 0.95, first
    assert second == "A page with a text layer."
    assert document.metadata["ocr_pages"] == [1]


def test_multi_page_tiff_keeps_page_starts(tmp_path: Path) -> None:
    pages = [scan([SENTENCES["eng"]]), scan([SENTENCES["rus"]])]
    buffer = io.BytesIO()
    pages[0].save(buffer, "TIFF", save_all=True, append_images=pages[1:])
    (tmp_path / "two.tiff").write_bytes(buffer.getvalue())
    [document] = load_file(tmp_path / "two.tiff", limits=LIMITS)
    start = document.metadata["page_starts"][1]
    assert document.metadata["pages"] == 2
    assert accuracy(SENTENCES["rus"], document.text[start:]) >= 0.95


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("blank.png", lambda: _png(Image.new("L", (400, 200), 255)), "no text found by OCR"),
        ("broken.png", lambda: b"\x89PNG\r\n\x1a\n broken", r"not a readable image \(.+\)"),
        (
            "bomb.png",
            lambda: _png(Image.new("1", (12_000, 12_000), 1)),
            r"image too large: 144,000,000 pixels, "
            r"over the limit of 120,000,000 \(a decompression bomb\?\)",
        ),  # fmt: skip
    ],
)
def test_bad_images(tmp_path: Path, name: str, data, reason: str) -> None:
    (tmp_path / name).write_bytes(data())
    with pytest.raises(LoaderError, match=reason):
        load_file(tmp_path / name, limits=LIMITS)


def test_missing_tesseract_is_a_clear_reason(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import pytesseract

    monkeypatch.setattr(pytesseract.pytesseract, "tesseract_cmd", str(tmp_path / "no-tesseract"))
    (tmp_path / "scan.png").write_bytes(_png(scan(["Some words"])))
    with pytest.raises(LoaderError) as caught:
        load_file(tmp_path / "scan.png", limits=LIMITS)
    assert caught.value.reason == MISSING_REASON


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()
