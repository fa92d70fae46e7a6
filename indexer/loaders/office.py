"""Loaders for slides (.pptx, python-pptx), spreadsheets (.xlsx, openpyxl) and OpenDocument text (.odt, odfpy).

All three are zip files: their members are checked against the decompression bounds before a parser opens them.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from typing import Any

from indexer.errors import LoaderError
from indexer.loaders.common import EMPTY_REASON, PAGE_STARTS_KEY, clip_title, join_pages, make_document, normalize_text
from indexer.loaders.limits import LoadLimits, open_checked_zip
from indexer.types import LoadedDocument

logger = logging.getLogger(__name__)

PPTX_MIME = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ODT_MIME = "application/vnd.oasis.opendocument.text"


def load_pptx(data: bytes, source_name: str, limits: LoadLimits | None = None) -> list[LoadedDocument]:
    """Load the text of every slide (shapes, tables, groups, speaker notes), slides separated by blank lines.

    Args:
        data: raw file content.
        source_name: display name of the file.
        limits: decompression bounds; the defaults when None.

    Returns:
        One document; ``page_starts`` in its metadata holds where each slide's text starts (slide numbers
        are pages), ``pages`` the slide count.

    Raises:
        LoaderError: if the file is not a valid .pptx, passes a bound or has no text.
    """
    from pptx import Presentation

    open_checked_zip(data, source_name, limits or LoadLimits(), ".pptx file").close()
    try:
        presentation = Presentation(io.BytesIO(data))
        slides = [normalize_text(_slide_text(slide)).strip() for slide in presentation.slides]
        first_title = _first_title(presentation)
        core_title = clip_title(presentation.core_properties.title)
    except (KeyError, ValueError, TypeError, AttributeError) as e:
        raise LoaderError(source_name, f"not a valid .pptx file ({type(e).__name__}: {e})") from e
    text, starts = join_pages(slides)
    metadata: dict[str, Any] = {"pages": len(slides), PAGE_STARTS_KEY: starts}
    return [make_document(text, source_name, PPTX_MIME, title=core_title or first_title, metadata=metadata)]


def load_xlsx(data: bytes, source_name: str, limits: LoadLimits | None = None) -> list[LoadedDocument]:
    """Load a workbook, one document per sheet: rows on lines, cells separated by tabs (values, not formulas).

    Args:
        data: raw file content.
        source_name: display name of the file.
        limits: decompression bounds; the defaults when None.

    Returns:
        One document per sheet with text, titled ``"<file> — <sheet>"``; ``sheet`` in its metadata.

    Raises:
        LoaderError: if the file is not a valid .xlsx, passes a bound or no sheet has text.
    """
    from openpyxl import load_workbook

    open_checked_zip(data, source_name, limits or LoadLimits(), ".xlsx file").close()
    try:
        # Read-only streams the sheets; data_only gives the cached values instead of formulas.
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (KeyError, ValueError, TypeError, OSError) as e:
        raise LoaderError(source_name, f"not a valid .xlsx file ({type(e).__name__}: {e})") from e
    documents = []
    try:
        for number, sheet in enumerate(workbook.worksheets, start=1):
            text = "\n".join(_rows(sheet))
            if text.strip():
                metadata = {"sheet": sheet.title, "sheet_number": number}
                title = f"{source_name} — {sheet.title}"
                documents.append(make_document(text, source_name, XLSX_MIME, title=title, metadata=metadata))
    finally:
        workbook.close()
    if not documents:
        raise LoaderError(source_name, f"{EMPTY_REASON} (no sheet has any)")
    return documents


def load_odt(data: bytes, source_name: str, limits: LoadLimits | None = None) -> list[LoadedDocument]:
    """Load the headings and paragraphs of an OpenDocument text in reading order.

    Args:
        data: raw file content.
        source_name: display name of the file.
        limits: decompression bounds; the defaults when None.

    Returns:
        One document; paragraphs are separated by blank lines; the first heading is the title.

    Raises:
        LoaderError: if the file is not a valid .odt, passes a bound or has no text.
    """
    from odf import teletype
    from odf.opendocument import load

    open_checked_zip(data, source_name, limits or LoadLimits(), ".odt file").close()
    try:
        document = load(io.BytesIO(data))
        blocks = [(kind, teletype.extractText(node).strip()) for kind, node in _odt_blocks(document.text)]
    except (KeyError, ValueError, TypeError, AttributeError) as e:
        raise LoaderError(source_name, f"not a valid .odt file ({type(e).__name__}: {e})") from e
    heading = next((text for kind, text in blocks if kind == "h" and text), "")
    text = "\n\n".join(text for _, text in blocks if text)
    return [make_document(text, source_name, ODT_MIME, title=heading)]


def _slide_text(slide: Any) -> str:
    parts = list(_shape_texts(slide.shapes))
    if slide.has_notes_slide:
        notes = slide.notes_slide.notes_text_frame
        if notes is not None and notes.text.strip():
            parts.append(notes.text)
    return "\n".join(part.strip() for part in parts if part.strip())


def _shape_texts(shapes: Any) -> Iterator[str]:
    from pptx.enum.shapes import MSO_SHAPE_TYPE

    # An explicit stack: groups nest groups, and a hostile file may nest them deeply.
    stack = list(reversed(list(shapes)))
    while stack:
        shape = stack.pop()
        if shape.shape_type == MSO_SHAPE_TYPE.GROUP:
            stack.extend(reversed(list(shape.shapes)))
        elif getattr(shape, "has_text_frame", False) and shape.has_text_frame:
            yield shape.text_frame.text
        elif getattr(shape, "has_table", False) and shape.has_table:
            yield "\n".join("\t".join(cell.text.strip() for cell in row.cells) for row in shape.table.rows)


def _first_title(presentation: Any) -> str:
    for slide in presentation.slides:
        title = slide.shapes.title
        if title is not None and title.has_text_frame and title.text_frame.text.strip():
            return title.text_frame.text
    return ""


def _rows(sheet: Any) -> Iterator[str]:
    # A sheet's declared dimensions may be huge and empty: only the cells the file holds are read.
    sheet.reset_dimensions()
    for row in sheet.iter_rows(values_only=True):
        cells = ["" if value is None else " ".join(str(value).split()) for value in row]
        while cells and not cells[-1]:
            cells.pop()
        if cells:
            yield "\t".join(cells)


def _odt_blocks(root: Any) -> Iterator[tuple[str, Any]]:
    # Headings and paragraphs in document order; a paragraph's own children are read by extractText.
    stack = [root]
    while stack:
        node = stack.pop()
        name = getattr(node, "qname", (None, None))[1]
        if name in ("h", "p"):
            yield name, node
        else:
            stack.extend(reversed(getattr(node, "childNodes", [])))
