"""Loaders for row-per-document files: CSV (.csv) and JSON Lines (.jsonl)."""

from __future__ import annotations

import csv
import io
import json
import logging
import sys
from collections.abc import Iterable, Iterator
from typing import Any

from indexer.errors import LoaderError
from indexer.loaders.common import EMPTY_REASON, decode_text, make_document, normalize_text
from indexer.types import LoadedDocument

logger = logging.getLogger(__name__)

CSV_MIME = "text/csv"
JSONL_MIME = "application/jsonl"
_DELIMITERS = ",;\t|"
_SNIFF_CHARS = 16_384


def load_csv(data: bytes, source_name: str, text_field: str = "text") -> list[LoadedDocument]:
    """Load a CSV file with a header row, one document per non-blank row.

    Args:
        data: raw file content.
        source_name: display name of the file.
        text_field: the column holding each row's text.

    Returns:
        One document per row; the other columns and the row number (from 1) go into its metadata.

    Raises:
        LoaderError: if the column is missing, the CSV is malformed or no row has text.
    """
    text, _ = decode_text(data, source_name)
    text = normalize_text(text)
    # Long text cells are the point of this loader; the csv module's default cap is 128 KiB per cell.
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    reader = csv.DictReader(io.StringIO(text, newline=""), dialect=_sniff_dialect(text))
    try:
        header = [name.strip() for name in reader.fieldnames or []]
        if not any(header):
            raise LoaderError(source_name, EMPTY_REASON)
        reader.fieldnames = header
        if text_field not in header:
            raise LoaderError(source_name, f"no column {text_field!r}; available columns: {', '.join(header)}")
        rows = [(number, _clean_row(row, source_name, number)) for number, row in enumerate(reader, start=1)]
    except csv.Error as e:
        raise LoaderError(source_name, f"malformed CSV at line {reader.line_num} ({e})") from e
    return _documents(rows, source_name, text_field, CSV_MIME, ("row", "column"))


def load_jsonl(data: bytes, source_name: str, text_field: str = "text") -> list[LoadedDocument]:
    """Load a JSON Lines file, one document per object with a non-blank text.

    Args:
        data: raw file content.
        source_name: display name of the file.
        text_field: the key holding each object's text.

    Returns:
        One document per line; the other keys and the line number (from 1) go into its metadata.

    Raises:
        LoaderError: naming the line, if a line is not a JSON object or lacks the key; if no line has text.
    """
    text, _ = decode_text(data, source_name)
    rows = list(_jsonl_objects(normalize_text(text).split("\n"), source_name, text_field))
    return _documents(rows, source_name, text_field, JSONL_MIME, ("line", "key"))


def _sniff_dialect(text: str) -> type[csv.Dialect] | csv.Dialect:
    try:
        return csv.Sniffer().sniff(text[:_SNIFF_CHARS], delimiters=_DELIMITERS)
    except csv.Error:
        # Too little structure to guess (e.g. a single column): plain comma-separated.
        return csv.excel


def _clean_row(row: dict[str | None, Any], source_name: str, number: int) -> dict[str, Any]:
    # Cells beyond the header land under the key None (often an unquoted comma); short rows give None values.
    if None in row:
        logger.warning("%s: row %d has more cells than the header; extra cells ignored", source_name, number)
    return {key: value for key, value in row.items() if key is not None and value is not None}


def _jsonl_objects(lines: list[str], source_name: str, text_field: str) -> Iterator[tuple[int, dict[str, Any]]]:
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as e:
            raise LoaderError(source_name, f"line {number}: invalid JSON ({e.msg} at column {e.colno})") from e
        if not isinstance(item, dict):
            raise LoaderError(source_name, f"line {number}: expected a JSON object, got {type(item).__name__}")
        if text_field not in item:
            keys = ", ".join(map(str, item)) or "none"
            raise LoaderError(source_name, f"line {number}: no key {text_field!r}; available keys: {keys}")
        value = item[text_field]
        if value is not None and not isinstance(value, str):
            kind = type(value).__name__
            raise LoaderError(source_name, f"line {number}: {text_field!r} must be a string, got {kind}")
        yield number, item


def _documents(
    rows: Iterable[tuple[int, dict[str, Any]]],
    source_name: str,
    text_field: str,
    mime: str,
    words: tuple[str, str],
) -> list[LoadedDocument]:
    # words: what a row and a field are called in this format, e.g. ("line", "key") for JSONL.
    position, field = words
    documents = []
    for number, row in rows:
        text = row.get(text_field) or ""
        if not text.strip():
            continue
        metadata = {key: value for key, value in row.items() if key != text_field}
        metadata[position] = number
        title = row.get("title") if isinstance(row.get("title"), str) else None
        documents.append(
            make_document(text, source_name, mime, title=title or f"{source_name} #{number}", metadata=metadata)
        )
    if not documents:
        raise LoaderError(source_name, f"{EMPTY_REASON} in {field} {text_field!r} (no {position} has any)")
    logger.debug("%s: %d documents from %s rows", source_name, len(documents), position)
    return documents
