"""Helpers shared by the loaders: decoding, normalisation, titles and document building."""

from __future__ import annotations

import codecs
import logging
import re
import unicodedata
from pathlib import PurePath
from typing import Any

from charset_normalizer import from_bytes

from indexer.errors import LoaderError
from indexer.types import LoadedDocument

logger = logging.getLogger(__name__)

EMPTY_REASON = "empty: no text"
#: Metadata key: the character offset where each page (slide, image frame) starts in the document text.
PAGE_STARTS_KEY = "page_starts"
TITLE_MAX_CHARS = 200
#: Longest run of combining marks kept on one character (real scripts stack a handful).
MAX_MARKS = 64

# UTF-32 marks first: the UTF-32-LE mark starts with the UTF-16-LE one.
_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_WHITESPACE_RUN = re.compile(r"\s+")
_MARK_RUN = re.compile(rb"[^\x00]{%d,}" % (MAX_MARKS + 1))


def sniff_unicode(data: bytes) -> tuple[str, str] | None:
    """Decode bytes that carry a byte-order mark or are valid UTF-8.

    Args:
        data: raw file content.

    Returns:
        ``(text, encoding)``, or None when the bytes need charset detection.
    """
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            # A BOM is a strong signal; replace the rare broken sequence instead of failing the file.
            return data.decode(encoding, errors="replace"), encoding
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return None


def decode_text(data: bytes, source_name: str) -> tuple[str, str]:
    """Decode text bytes: byte-order mark, then UTF-8, then charset-normalizer's best guess.

    Args:
        data: raw file content.
        source_name: display name, for error messages.

    Returns:
        ``(text, encoding)``; the text is not yet normalised.

    Raises:
        LoaderError: if no encoding fits (usually a binary file with a text extension).
    """
    sniffed = sniff_unicode(data)
    if sniffed is not None:
        return sniffed
    best = from_bytes(data).best()
    if best is None:
        raise LoaderError(source_name, "cannot detect the text encoding (is it a binary file?)")
    logger.debug("%s: detected encoding %s", source_name, best.encoding)
    return str(best), best.encoding


def normalize_text(text: str) -> str:
    """Normalise extracted text to NFC with ``\\n`` line ends and no NUL characters.

    A run of more than ``MAX_MARKS`` combining marks on one character keeps its first ``MAX_MARKS``:
    NFC sorts each run by insertion, so a hostile run of 200,000 marks would take hours.

    Args:
        text: extracted text.

    Returns:
        The normalised text (edges are not stripped).
    """
    text = text.replace("\x00", "").replace("\r\n", "\n").replace("\r", "\n")
    # The quick check is linear and answers for almost all text; only the rest is clamped and normalised.
    if unicodedata.is_normalized("NFC", text):
        return text
    return unicodedata.normalize("NFC", _clamp_mark_runs(text))


def _clamp_mark_runs(text: str) -> str:
    # The combining class of every character, one byte each (classes are below 256), in C; runs of
    # non-zero bytes are then found by a bytes regex. A str character class of all marks is far slower.
    runs = list(_MARK_RUN.finditer(bytes(map(unicodedata.combining, text))))
    if not runs:
        return text
    pieces, last = [], 0
    for run in runs:
        pieces.append(text[last : run.start() + MAX_MARKS])
        last = run.end()
    pieces.append(text[last:])
    return "".join(pieces)


def clip_title(title: str | None) -> str:
    """Collapse whitespace in a title and clip it to ``TITLE_MAX_CHARS``.

    Args:
        title: a candidate title, possibly None.

    Returns:
        The cleaned title, "" when there is none.
    """
    title = _WHITESPACE_RUN.sub(" ", normalize_text(title or "")).strip()
    if len(title) > TITLE_MAX_CHARS:
        title = title[: TITLE_MAX_CHARS - 1].rstrip() + "…"
    return title


def name_title(source_name: str) -> str:
    """The fallback title: the file name without its extension.

    Args:
        source_name: display name of the file.

    Returns:
        The stem, or the whole name when the stem is empty.
    """
    return PurePath(source_name).stem or source_name


def first_line(text: str) -> str:
    """The first non-blank line of a text, as a title candidate.

    Args:
        text: document text.

    Returns:
        The clipped line, "" for blank text.
    """
    for line in text.split("\n"):
        if line.strip():
            return clip_title(line)
    return ""


def make_document(
    text: str,
    source_name: str,
    mime: str,
    title: str | None = None,
    metadata: dict[str, Any] | None = None,
    empty_reason: str = EMPTY_REASON,
) -> LoadedDocument:
    """Normalise the text and build a LoadedDocument, refusing documents without text.

    Args:
        text: extracted text.
        source_name: display name of the file.
        mime: MIME type of the source.
        title: title candidate; the file name is used when blank.
        metadata: extra JSON-serialisable fields.
        empty_reason: the error reason when the text is blank.

    Returns:
        The document, with its text stripped at the edges.

    Raises:
        LoaderError: if the text is empty or whitespace only.
    """
    text = normalize_text(text).strip()
    if not text:
        raise LoaderError(source_name, empty_reason)
    return LoadedDocument(
        text=text,
        title=clip_title(title) or name_title(source_name),
        source_name=source_name,
        mime=mime,
        metadata=metadata or {},
    )


def join_pages(pages: list[str]) -> tuple[str, list[int]]:
    """Join page texts with blank lines, noting where each page starts.

    The pages must be normalised and stripped already, so that the offsets hold in the document's text.
    A blank page keeps its number: it starts where the page before it ends.

    Args:
        pages: the text of each page, in order.

    Returns:
        The joined text, and the offset of each page's start in it.
    """
    starts, pieces, offset = [], [], 0
    for page in pages:
        if pieces and page:
            offset += 2
        starts.append(offset)
        if page:
            pieces.append(page)
            offset += len(page)
    return "\n\n".join(pieces), starts
