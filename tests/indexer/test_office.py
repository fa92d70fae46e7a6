"""Slides (.pptx), spreadsheets (.xlsx) and OpenDocument text (.odt): good and broken files."""

from __future__ import annotations

import io
import os
import re
import zipfile
from pathlib import Path

import pytest
from odf.opendocument import OpenDocumentText
from odf.text import H, P
from openpyxl import Workbook
from pptx import Presentation
from pptx.util import Inches

from indexer.errors import LoaderError
from indexer.loaders import load_file

MB = 1024 * 1024


def pptx_bytes() -> bytes:
    """Four slides: title and body; a table with speaker notes; an empty slide; a last title."""
    deck = Presentation()
    first = deck.slides.add_slide(deck.slide_layouts[1])
    first.shapes.title.text = "Flood report"
    first.placeholders[1].text = "The dam broke."
    second = deck.slides.add_slide(deck.slide_layouts[5])
    second.shapes.title.text = "Numbers"
    table = second.shapes.add_table(2, 2, Inches(1), Inches(2), Inches(4), Inches(1)).table
    table.cell(0, 0).text, table.cell(1, 1).text = "Region", "42"
    second.notes_slide.notes_text_frame.text = "Speaker notes here"
    deck.slides.add_slide(deck.slide_layouts[6])
    deck.slides.add_slide(deck.slide_layouts[1]).shapes.title.text = "End"
    buffer = io.BytesIO()
    deck.save(buffer)
    return buffer.getvalue()


def xlsx_bytes(empty: bool = False) -> bytes:
    """Sheets "Sales" (a table), "Empty" and "Notes" (one cell away from A1)."""
    workbook = Workbook()
    sales = workbook.active
    sales.title = "Sales"
    notes = workbook.create_sheet("Empty") and workbook.create_sheet("Notes")
    if not empty:
        sales.append(["region", "total"])
        sales.append(["North", 42])
        notes["B3"] = "Straße   gesperrt"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def odt_bytes(paragraphs: tuple[str, ...] = ("Der Damm brach.", "Zweiter Absatz.")) -> bytes:
    document = OpenDocumentText()
    if paragraphs:
        document.text.addElement(H(outlinelevel=1, text="Bericht"))
    for paragraph in paragraphs:
        document.text.addElement(P(text=paragraph))
    buffer = io.BytesIO()
    document.write(buffer)
    return buffer.getvalue()


def bomb(valid: bytes, size_mb: int = 300) -> bytes:
    """A valid Office file with one more member of ``size_mb`` MB of spaces (a few hundred KB packed)."""
    buffer = io.BytesIO(valid)
    with zipfile.ZipFile(buffer, "a", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("customXml/bomb.xml", "w", force_zip64=True) as member:
            for _ in range(size_mb):
                member.write(b" " * MB)
    return buffer.getvalue()


def test_pptx_slides_in_order_with_their_starts(tmp_path: Path) -> None:
    (tmp_path / "deck.pptx").write_bytes(pptx_bytes())
    [document] = load_file(tmp_path / "deck.pptx")
    assert document.text == "Flood report\nThe dam broke.\n\nNumbers\nRegion\t\n\t42\nSpeaker notes here\n\nEnd"
    assert document.title == "Flood report"
    assert document.metadata == {"pages": 4, "page_starts": [0, 29, 67, 69]}
    assert document.text[29:].startswith("Numbers") and document.text[69:] == "End"


def test_xlsx_one_document_per_sheet_with_text(tmp_path: Path) -> None:
    (tmp_path / "book.xlsx").write_bytes(xlsx_bytes())
    documents = load_file(tmp_path / "book.xlsx")
    assert [(d.title, d.text, d.metadata) for d in documents] == [
        ("book.xlsx — Sales", "region\ttotal\nNorth\t42", {"sheet": "Sales", "sheet_number": 1}),
        ("book.xlsx — Notes", "Straße gesperrt", {"sheet": "Notes", "sheet_number": 3}),
    ]


def test_odt_headings_and_paragraphs(tmp_path: Path) -> None:
    (tmp_path / "memo.odt").write_bytes(odt_bytes())
    [document] = load_file(tmp_path / "memo.odt")
    assert (document.title, document.text) == ("Bericht", "Bericht\n\nDer Damm brach.\n\nZweiter Absatz.")


@pytest.mark.parametrize(
    ("name", "make", "reason"),
    [
        ("random.pptx", lambda: os.urandom(2000), r"not a valid \.pptx file \(BadZipFile: File is not a zip file\)"),
        ("random.xlsx", lambda: os.urandom(2000), r"not a valid \.xlsx file \(BadZipFile: File is not a zip file\)"),
        ("random.odt", lambda: os.urandom(2000), r"not a valid \.odt file \(BadZipFile: File is not a zip file\)"),
        ("cut.pptx", lambda: pptx_bytes()[:4000], r"not a valid \.pptx file \(BadZipFile: .+\)"),
        ("cut.xlsx", lambda: xlsx_bytes()[:2000], r"not a valid \.xlsx file \(BadZipFile: .+\)"),
        ("docx.pptx", lambda: odt_bytes(), r"not a valid \.pptx file \(.+\)"),
        ("bomb.pptx", lambda: bomb(pptx_bytes()), r"decompression bomb\? \.pptx file inflates to 3\d\d\.\d MB .+"),
        ("bomb.xlsx", lambda: bomb(xlsx_bytes()), r"decompression bomb\? \.xlsx file inflates to 3\d\d\.\d MB .+"),
        ("bomb.odt", lambda: bomb(odt_bytes()), r"decompression bomb\? \.odt file inflates to 3\d\d\.\d MB .+"),
        (
            "ratio.xlsx",
            lambda: bomb(xlsx_bytes(), 20),
            r"decompression bomb\? member 'customXml/bomb\.xml' of the "
            r"\.xlsx file inflates [\d,]+ times, over the limit of 100 \(max_zip_ratio\)",
        ),  # fmt: skip
        ("empty.xlsx", lambda: xlsx_bytes(empty=True), r"empty: no text \(no sheet has any\)"),
        ("empty.odt", lambda: odt_bytes(()), "empty: no text"),
    ],
)
def test_broken_office_files(tmp_path: Path, name: str, make, reason: str) -> None:
    (tmp_path / name).write_bytes(make())
    with pytest.raises(LoaderError) as caught:
        load_file(tmp_path / name)
    assert re.fullmatch(reason, caught.value.reason), caught.value.reason


RTF = (
    rb"{\rtf1\ansi\ansicpg1251\deff0{\fonttbl{\f0 Times;}}{\info{\title Memo}}\f0 Hello \b world\b0.\par "
    rb"\'c2\'f7\'e5\'f0\'e0 \u1074?\u1077?\u1095?\u1077?\u1088?\u1086?\u1084?.\par}"
)


@pytest.mark.parametrize(
    ("data", "title", "text"),
    [
        (RTF, "Memo", "Hello world.\nВчера вечером."),
        (rb"{\rtf1\ansi Stra\'dfe und Caf\'e9.\par Zwei.}", "Straße und Café.", "Straße und Café.\nZwei."),
    ],
)
def test_rtf_text_title_and_code_page(tmp_path: Path, data: bytes, title: str, text: str) -> None:
    (tmp_path / "a.rtf").write_bytes(data)
    [document] = load_file(tmp_path / "a.rtf")
    assert (document.title, document.text) == (title, text)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"plain text, not RTF", r"not an RTF file \(it does not start with \{\\rtf\)"),
        (rb"{\rtf1\ansi{\fonttbl{\f0 Times;}}}", "empty: no text"),
    ],
)
def test_broken_rtf(tmp_path: Path, data: bytes, reason: str) -> None:
    (tmp_path / "a.rtf").write_bytes(data)
    with pytest.raises(LoaderError) as caught:
        load_file(tmp_path / "a.rtf")
    assert re.fullmatch(reason, caught.value.reason), caught.value.reason
