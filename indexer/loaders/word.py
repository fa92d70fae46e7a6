"""Loader for Word documents (.docx), with python-docx."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import docx
from docx.document import Document
from docx.opc.exceptions import OpcError
from docx.table import Table
from docx.text.paragraph import Paragraph
from lxml.etree import LxmlError

from indexer.errors import LoaderError
from indexer.loaders.common import clip_title, make_document
from indexer.loaders.limits import LoadLimits, open_checked_zip
from indexer.types import LoadedDocument

DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def load_docx(data: bytes, source_name: str, limits: LoadLimits | None = None) -> list[LoadedDocument]:
    """Load the paragraphs and tables of a .docx file in reading order.

    Args:
        data: raw file content.
        source_name: display name of the file.
        limits: decompression bounds, checked before python-docx inflates anything; the defaults when None.

    Returns:
        One document; paragraphs are separated by blank lines, table cells by tabs.

    Raises:
        LoaderError: if the file is not a valid .docx, would inflate past the limits or has no text.
    """
    hint = "old binary .doc files are not supported, save them as .docx"
    open_checked_zip(data, source_name, limits or LoadLimits(), ".docx file", hint=hint).close()
    try:
        document = docx.Document(io.BytesIO(data))
        blocks, heading = _blocks(document)
        metadata = _core_metadata(document)
    except (zipfile.BadZipFile, OpcError, KeyError, LxmlError, ValueError) as e:
        raise LoaderError(source_name, f"not a valid .docx file ({type(e).__name__}: {e}); {hint}") from e
    title = metadata.pop("title", "") or heading
    return [make_document("\n\n".join(blocks), source_name, DOCX_MIME, title=title, metadata=metadata)]


def _blocks(document: Document) -> tuple[list[str], str]:
    blocks: list[str] = []
    heading = ""
    for item in document.iter_inner_content():
        if isinstance(item, Paragraph):
            text = item.text.strip()
            if text and not heading and _is_heading(item):
                heading = text
        else:
            text = _table_text(item)
        if text:
            blocks.append(text)
    return blocks, heading


def _is_heading(paragraph: Paragraph) -> bool:
    style = paragraph.style
    name = (style.name or "") if style is not None else ""
    return name == "Title" or name.startswith("Heading")


def _table_text(table: Table) -> str:
    rows = []
    for row in table.rows:
        cells: list[str] = []
        seen: set[int] = set()
        for cell in row.cells:
            # A merged cell is returned once per grid column it spans.
            if id(cell._tc) in seen:
                continue
            seen.add(id(cell._tc))
            cells.append(" ".join(cell.text.split()))
        if any(cells):
            rows.append("\t".join(cells))
    return "\n".join(rows)


def _core_metadata(document: Document) -> dict[str, Any]:
    props = document.core_properties
    created = props.created
    metadata = {
        "title": clip_title(props.title),
        "author": clip_title(props.author),
        "created": created.isoformat() if created else "",
    }
    return {key: value for key, value in metadata.items() if value}
