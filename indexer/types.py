"""Plain dataclasses passed between loaders, chunker, pipeline and service."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class LoadedDocument:
    """Text extracted from one file (or one row of a CSV/JSONL file).

    Attributes:
        text: the document's full text, normalised to NFC with ``\\n`` line ends.
        title: a human title (from the file's metadata, first heading, or its name).
        source_name: the original file name, for display only (never a path).
        mime: the MIME type of the source file.
        metadata: extra fields (author, date, subject, row number, ...), JSON-serialisable.
    """

    text: str
    title: str
    source_name: str
    mime: str
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass
class ChunkSpan:
    """One chunk of a document's text with its character offsets.

    Attributes:
        ordinal: position of the chunk in the document, from 0.
        text: ``document_text[char_start:char_end]``.
        char_start: offset of the first character in the document text.
        char_end: offset after the last character.
        n_tokens: number of model tokens in ``text`` (no special tokens, no prompt).
    """

    ordinal: int
    text: str
    char_start: int
    char_end: int
    n_tokens: int
