"""Loaders for plain text (.txt) and Markdown (.md) files."""

from __future__ import annotations

import re

from indexer.loaders.common import decode_text, make_document, normalize_text
from indexer.types import LoadedDocument

TEXT_MIME = "text/plain"
MARKDOWN_MIME = "text/markdown"

# ATX heading "# Title" with optional closing hashes; setext "Title" underlined with "===".
# The closing hashes are stripped in code: as a lazy group before an optional "[ \t]+#+" the regex
# backtracks over every space of a long line (quadratic: 8,000 spaces took 2.7 s).
_ATX_H1 = re.compile(r"^ {0,3}#[ \t]+(.+)$")
_SETEXT_H1 = re.compile(r"^ {0,3}=+[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(```|~~~)")


def load_text(data: bytes, source_name: str) -> list[LoadedDocument]:
    """Load a plain text file.

    Args:
        data: raw file content.
        source_name: display name of the file.

    Returns:
        One document titled after the file name.

    Raises:
        LoaderError: if the encoding is unknown or the file has no text.
    """
    text, encoding = decode_text(data, source_name)
    return [make_document(text, source_name, TEXT_MIME, metadata={"encoding": encoding})]


def load_markdown(data: bytes, source_name: str) -> list[LoadedDocument]:
    """Load a Markdown file; the first level-1 heading is the title.

    Args:
        data: raw file content.
        source_name: display name of the file.

    Returns:
        One document with the Markdown source as its text.

    Raises:
        LoaderError: if the encoding is unknown or the file has no text.
    """
    text, encoding = decode_text(data, source_name)
    title = markdown_title(normalize_text(text))
    return [make_document(text, source_name, MARKDOWN_MIME, title=title, metadata={"encoding": encoding})]


def markdown_title(text: str) -> str | None:
    """Find the first level-1 heading of a Markdown text, outside code fences.

    Args:
        text: Markdown source with ``\\n`` line ends.

    Returns:
        The heading text, or None when there is no level-1 heading.
    """
    in_fence = False
    previous = ""
    for line in text.split("\n"):
        if _FENCE.match(line):
            in_fence = not in_fence
        elif not in_fence:
            atx = _ATX_H1.match(line)
            if atx:
                return _atx_title(atx.group(1))
            if previous.strip() and _SETEXT_H1.match(line):
                return previous.strip()
        previous = "" if in_fence else line
    return None


def _atx_title(content: str) -> str:
    # "Title ##" -> "Title"; "C#" and a heading made only of hashes keep their hashes.
    stripped = content.rstrip(" \t")
    closed = stripped.rstrip("#")
    if closed and closed != stripped and closed[-1] in " \t":
        return closed.rstrip(" \t")
    return stripped or content
