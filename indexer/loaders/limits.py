"""Bounds on what one file may cost to load: special files, decompression, nesting and extracted text."""

from __future__ import annotations

import errno
import io
import os
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path

from indexer.errors import LoaderError
from indexer.types import LoadedDocument

#: Metadata key set on a document whose text was cut at ``max_text_chars``: the length before the cut.
TRUNCATED_KEY = "truncated_from_chars"
_MB = 1024 * 1024
# Members smaller than this are never refused for their ratio: tiny XML parts compress very well.
_RATIO_FLOOR_BYTES = _MB
_SPECIAL_KINDS = (
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISDIR, "a folder"),
)


@dataclass(frozen=True)
class LoadLimits:
    """What loading one file may cost; every bound has a setting of the same name in ``Settings``.

    Attributes:
        load_timeout_s: wall-clock seconds a file may take to load before its worker is killed.
        load_memory_mb: address space of the loader worker process, in MB.
        max_text_chars: characters of text kept per file; the rest is dropped and the report says so.
        max_unzipped_mb: total uncompressed size of a zip-based file (docx and other Office formats), in MB.
        max_zip_ratio: largest compression ratio of one member of a zip-based file.
        max_zip_members: most members in a zip-based file.
        max_html_depth: deepest element nesting of an HTML page.
        max_archive_depth: deepest nesting of archives in archives.
        ocr_languages: Tesseract languages for images and scanned pages, joined by "+"; "" picks them per page
            from the script Tesseract's OSD detects.
        ocr_page_timeout_s: seconds one page may take to read by OCR before it fails alone; each page read
            also extends the file's ``load_timeout_s`` by this much. 0 means no limit.
    """

    load_timeout_s: float = 60.0
    load_memory_mb: int = 2048
    max_text_chars: int = 2_000_000
    max_unzipped_mb: int = 256
    max_zip_ratio: int = 100
    max_zip_members: int = 10_000
    max_html_depth: int = 256
    max_archive_depth: int = 3
    ocr_languages: str = ""
    ocr_page_timeout_s: float = 60.0


def check_regular_file(path: Path, source_name: str) -> int:
    """Refuse anything but a regular file before it is opened (a FIFO would block the reader forever).

    Args:
        path: the file; a symbolic link is followed.
        source_name: display name, for the error.

    Returns:
        The file's size in bytes.

    Raises:
        LoaderError: if the path is missing, a symbolic link loop, a folder or a special file.
    """
    try:
        info = os.stat(path)
    except FileNotFoundError as e:
        reason = "broken symbolic link: its target does not exist" if os.path.islink(path) else "file not found"
        raise LoaderError(source_name, reason) from e
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise LoaderError(source_name, "symbolic link loop: the link never reaches a file") from e
        raise LoaderError(source_name, f"cannot read the file ({e.strerror or e})") from e
    return _regular_size(info, source_name)


def read_regular_file(path: Path, source_name: str, max_bytes: int | None) -> bytes:
    """Read a regular file, checking its type on the opened descriptor so it cannot be swapped meanwhile.

    Args:
        path: the file.
        source_name: display name, for the error.
        max_bytes: refuse files larger than this; None means no limit.

    Returns:
        The file's bytes.

    Raises:
        LoaderError: if the file is missing, special, too large or unreadable.
    """
    check_regular_file(path, source_name)
    try:
        # O_NONBLOCK: should a FIFO take the file's place after the check, opening it still returns at once.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError as e:
        raise LoaderError(source_name, f"cannot read the file ({e.strerror or e})") from e
    with os.fdopen(fd, "rb") as handle:
        size = _regular_size(os.fstat(fd), source_name)
        if max_bytes is not None and size > max_bytes:
            limit = format_size(max_bytes)
            raise LoaderError(source_name, f"too large: {format_size(size)}, over the limit of {limit}")
        try:
            # Read one byte past the limit: a file that grew after the check is still refused.
            data = handle.read() if max_bytes is None else handle.read(max_bytes + 1)
        except OSError as e:
            raise LoaderError(source_name, f"cannot read the file ({e.strerror or e})") from e
    if max_bytes is not None and len(data) > max_bytes:
        raise LoaderError(source_name, f"too large: over the limit of {format_size(max_bytes)}")
    return data


def check_zip(archive: zipfile.ZipFile, source_name: str, limits: LoadLimits, kind: str) -> None:
    """Refuse a zip whose members would inflate past the limits, before any member is read.

    Python's zipfile never inflates a member past the size its header declares (it fails the CRC
    instead), so the declared sizes bound the real ones.

    Args:
        archive: the opened zip.
        source_name: display name, for the error.
        limits: the bounds.
        kind: what the zip is, for the message (".docx file", "zip archive").

    Raises:
        LoaderError: naming the bound that was passed.
    """
    members = archive.infolist()
    if len(members) > limits.max_zip_members:
        raise LoaderError(
            source_name,
            f"{kind} has {len(members):,} members, over the limit of {limits.max_zip_members:,} (max_zip_members)",
        )
    total = sum(m.file_size for m in members)
    if total > limits.max_unzipped_mb * _MB:
        raise LoaderError(
            source_name,
            f"decompression bomb? {kind} inflates to {format_size(total)}, over the "
            f"limit of {limits.max_unzipped_mb} MB (max_unzipped_mb)",
        )
    for member in members:
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size > _RATIO_FLOOR_BYTES and ratio > limits.max_zip_ratio:
            raise LoaderError(
                source_name,
                f"decompression bomb? member {member.filename!r} of the {kind} inflates "
                f"{ratio:,.0f} times, over the limit of {limits.max_zip_ratio} "
                f"(max_zip_ratio)",
            )


def open_checked_zip(data: bytes, source_name: str, limits: LoadLimits, kind: str, hint: str = "") -> zipfile.ZipFile:
    """Open bytes as a zip and check it against the limits.

    Args:
        data: the file's bytes.
        source_name: display name, for the error.
        limits: the bounds.
        kind: what the zip is, for the message.
        hint: added to the message when the bytes are not a zip at all.

    Returns:
        The opened zip, safe to hand to a parser.

    Raises:
        LoaderError: if the bytes are not a zip or pass a bound.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError) as e:
        suffix = f"; {hint}" if hint else ""
        raise LoaderError(source_name, f"not a valid {kind} ({type(e).__name__}: {e}){suffix}") from e
    check_zip(archive, source_name, limits, kind)
    return archive


def cap_text(documents: list[LoadedDocument], max_chars: int) -> tuple[list[LoadedDocument], str]:
    """Keep at most ``max_chars`` characters of text across a file's documents, in order.

    The document that crosses the bound is cut (its metadata's ``TRUNCATED_KEY`` holds its length
    before the cut); documents after it are dropped.

    Args:
        documents: the file's documents.
        max_chars: the bound.

    Returns:
        The documents that fit, and the report note ("" when nothing was cut).
    """
    total = sum(len(doc.text) for doc in documents)
    if total <= max_chars:
        return documents, ""
    kept: list[LoadedDocument] = []
    room = max_chars
    for doc in documents:
        if room <= 0:
            break
        if len(doc.text) > room:
            doc.metadata[TRUNCATED_KEY] = len(doc.text)
            doc.text = doc.text[:room].rstrip()
        room -= len(doc.text)
        kept.append(doc)
    dropped = len(documents) - len(kept)
    rows = f"; {dropped:,} later document(s) dropped" if dropped else ""
    note = f"text truncated: the first {max_chars:,} of {total:,} characters are indexed (max_text_chars){rows}"
    return kept, note


def format_size(n_bytes: int) -> str:
    """A byte count for people: bytes below 1 MB, else MB with the exact count.

    Args:
        n_bytes: the size.

    Returns:
        e.g. ``"2,000 bytes"`` or ``"3.0 MB (3,145,728 bytes)"``.
    """
    if n_bytes < _MB:
        return f"{n_bytes:,} bytes"
    return f"{n_bytes / _MB:.1f} MB ({n_bytes:,} bytes)"


def _regular_size(info: os.stat_result, source_name: str) -> int:
    for is_kind, kind in _SPECIAL_KINDS:
        if is_kind(info.st_mode):
            if kind == "a folder":
                raise LoaderError(source_name, "is a folder, not a file")
            raise LoaderError(source_name, f"not a regular file: {kind}; skipped without opening it")
    if not stat.S_ISREG(info.st_mode):
        raise LoaderError(source_name, "not a regular file; skipped without opening it")
    return info.st_size
