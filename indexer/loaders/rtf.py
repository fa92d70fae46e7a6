"""Loader for Rich Text Format (.rtf), with striprtf."""

from __future__ import annotations

import codecs
import re

from indexer.errors import LoaderError
from indexer.loaders.common import first_line, make_document
from indexer.types import LoadedDocument

RTF_MIME = "application/rtf"
# The code page of \'xx escapes, e.g. \ansicpg1251 for Cyrillic; Windows-1252 when absent.
_CODEPAGE = re.compile(rb"\\ansicpg(\d{3,5})")
_TITLE = re.compile(r"\\title\s+([^{}\\]{1,500})")


def load_rtf(data: bytes, source_name: str) -> list[LoadedDocument]:
    """Load the text of an RTF document (groups such as font tables and document info are dropped).

    Args:
        data: raw file content.
        source_name: display name of the file.

    Returns:
        One document; the ``\\title`` of its info group, else its first line, is the title.

    Raises:
        LoaderError: if the file is not RTF or has no text.
    """
    from striprtf.striprtf import rtf_to_text

    if not data.lstrip().startswith(b"{\\rtf"):
        raise LoaderError(source_name, "not an RTF file (it does not start with {\\rtf)")
    encoding = _encoding(data)
    # RTF is 7-bit text with escapes: Latin-1 maps every byte to one character and back.
    source = data.decode("latin-1")
    text = rtf_to_text(source, encoding=encoding, errors="replace")
    title = _TITLE.search(source)
    return [make_document(text, source_name, RTF_MIME, title=title.group(1) if title else first_line(text),
                          metadata={"encoding": encoding})]  # fmt: skip


def _encoding(data: bytes) -> str:
    match = _CODEPAGE.search(data[:4096])
    if match:
        name = f"cp{int(match.group(1))}"
        try:
            return codecs.lookup(name).name
        except LookupError:
            pass
    return "cp1252"
