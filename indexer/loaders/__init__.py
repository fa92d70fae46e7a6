"""File loaders: turn a file into LoadedDocuments, choosing the loader by extension."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path, PurePath

from indexer.errors import LoaderError, UnsupportedFileTypeError
from indexer.loaders.archive import ARCHIVE_EXTENSIONS, load_archive
from indexer.loaders.common import EMPTY_REASON
from indexer.loaders.limits import LoadLimits, read_regular_file
from indexer.loaders.mail import load_eml, load_mbox
from indexer.loaders.markup import load_html
from indexer.loaders.ocr import IMAGE_EXTENSIONS, OcrOptions, PageCallback, load_image
from indexer.loaders.office import load_odt, load_pptx, load_xlsx
from indexer.loaders.outlook import load_msg
from indexer.loaders.pdf import load_pdf
from indexer.loaders.rtf import load_rtf
from indexer.loaders.tabular import load_csv, load_jsonl
from indexer.loaders.text import load_markdown, load_text
from indexer.loaders.word import load_docx
from indexer.types import LoadedDocument

logger = logging.getLogger(__name__)

Loader = Callable[[bytes, str], list[LoadedDocument]]

SUPPORTED_EXTENSIONS: frozenset[str] = frozenset(
    (
        ".txt",
        ".md",
        ".html",
        ".htm",
        ".pdf",
        ".docx",
        ".pptx",
        ".xlsx",
        ".odt",
        ".rtf",
        ".csv",
        ".jsonl",
        ".eml",
        ".mbox",
        ".msg",
        *IMAGE_EXTENSIONS,
        *ARCHIVE_EXTENSIONS,
    )
)

__all__ = ["SUPPORTED_EXTENSIONS", "LoadLimits", "file_extension", "iter_files", "load_file"]


def file_extension(path: Path, source_name: str | None = None) -> str:
    """The lower-case extension that picks the loader: the display name's, else the path's.

    Args:
        path: where the file is stored (uploads are saved under temporary names).
        source_name: the original file name, if known.

    Returns:
        The extension with its dot, e.g. ``".pdf"``; "" when there is none.
    """
    name = source_name if source_name and PurePath(source_name).suffix else path.name
    # The one double extension read as such: "x.tar.gz" is a tar archive, not a gzip file.
    if name.lower().endswith(".tar.gz"):
        return ".tar.gz"
    return PurePath(name).suffix.lower()


def load_file(
    path: Path,
    source_name: str | None = None,
    text_field: str = "text",
    max_bytes: int | None = None,
    limits: LoadLimits | None = None,
    on_page: PageCallback | None = None,
) -> list[LoadedDocument]:
    """Load one file into documents (one per file, or one per row for CSV and JSONL), in this process.

    Only regular files are opened. Time, memory and text length are bounded by ``indexer.loaders.isolate``,
    which runs this function in a worker process; the parser bounds in ``limits`` apply here.

    Args:
        path: the file to read.
        source_name: the original file name, for display and type detection; defaults to ``path.name``.
        text_field: column (CSV) or key (JSONL) holding each row's text.
        max_bytes: refuse files larger than this; None means no limit.
        limits: decompression and nesting bounds; the defaults when None.
        on_page: called before each page read by OCR, with (display name, page number, pages).

    Returns:
        The documents, with normalised text.

    Raises:
        UnsupportedFileTypeError: if the extension has no loader.
        LoaderError: if the file is missing, too large, unreadable or has no text.
        ValueError: if ``max_bytes`` is negative.
    """
    if max_bytes is not None and max_bytes < 0:
        raise ValueError(f"max_bytes must be None or >= 0, got {max_bytes}")
    path = Path(path)
    source_name = source_name or path.name
    limits = limits or LoadLimits()
    extension = file_extension(path, source_name)
    # An unsupported type is reported before the file is opened.
    ocr = OcrOptions(limits.ocr_languages, limits.ocr_page_timeout_s, on_page)
    _loader_for(extension, source_name, text_field, limits, ocr, 0)
    data = read_regular_file(path, source_name, max_bytes)
    return _load_bytes(data, source_name, extension, text_field, limits, ocr, 0)


def _load_bytes(
    data: bytes, source_name: str, extension: str, text_field: str, limits: LoadLimits, ocr: OcrOptions, depth: int
) -> list[LoadedDocument]:
    loader = _loader_for(extension, source_name, text_field, limits, ocr, depth)
    if not data:
        raise LoaderError(source_name, EMPTY_REASON)
    try:
        documents = loader(data, source_name)
    except (LoaderError, MemoryError):
        # A MemoryError is the worker's memory limit at work: the worker reports it, not as a parser failure.
        raise
    except RecursionError as e:
        raise LoaderError(source_name, "nested too deeply to read (RecursionError)") from e
    except Exception as e:  # noqa: BLE001 - the boundary: no library error may escape a loader
        logger.warning("%s: unexpected loader failure", source_name, exc_info=True)
        raise LoaderError(source_name, f"cannot read the file ({type(e).__name__}: {e})") from e
    logger.debug("%s: %d document(s) loaded", source_name, len(documents))
    return documents


def iter_files(paths: list[Path]) -> Iterator[Path]:
    """Expand files and folders into the files to load.

    Folders are walked recursively in sorted order, skipping hidden files and folders, Office lock
    files and unsupported types. A path given explicitly is yielded as is, even when unsupported or
    missing, so that loading it reports why it fails.

    Args:
        paths: files and folders.

    Yields:
        Each file once, in order.
    """
    seen: set[Path] = set()
    for root in paths:
        root = Path(root)
        found = _walk(root) if root.is_dir() else [root]
        for path in found:
            key = _identity(path)
            if key not in seen:
                seen.add(key)
                yield path


def _identity(path: Path) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError):
        # A symbolic link loop cannot be resolved; loading it reports the loop.
        return path.absolute()


def _walk(folder: Path) -> list[Path]:
    found = []
    for directory, subdirs, names in os.walk(folder):
        # Prune hidden folders (.git, .venv, ...) in place so os.walk does not descend into them.
        subdirs[:] = [name for name in subdirs if not name.startswith(".")]
        for name in names:
            if _is_skipped(name):
                continue
            found.append(Path(directory) / name)
    return sorted(found)


def _is_skipped(name: str) -> bool:
    # "~$report.docx" is the lock file Word keeps beside an open document.
    hidden = name.startswith((".", "~$"))
    return hidden or file_extension(Path(name)) not in SUPPORTED_EXTENSIONS


def _loader_for(
    extension: str, source_name: str, text_field: str, limits: LoadLimits, ocr: OcrOptions, depth: int
) -> Loader:
    html = partial(load_html, max_depth=limits.max_html_depth)

    def member(data: bytes, name: str, member_depth: int) -> list[LoadedDocument]:
        # An archive member goes through the same dispatch and boundary as a file, one level deeper.
        return _load_bytes(data, name, file_extension(Path(name)), text_field, limits, ocr, member_depth)

    archive = partial(load_archive, load_member=member, limits=limits, depth=depth)
    loaders: dict[str, Loader] = {
        ".txt": load_text,
        ".md": load_markdown,
        ".html": html,
        ".htm": html,
        ".pdf": partial(load_pdf, ocr=ocr),
        ".docx": partial(load_docx, limits=limits),
        ".pptx": partial(load_pptx, limits=limits),
        ".xlsx": partial(load_xlsx, limits=limits),
        ".odt": partial(load_odt, limits=limits),
        ".rtf": load_rtf,
        ".csv": partial(load_csv, text_field=text_field),
        ".jsonl": partial(load_jsonl, text_field=text_field),
        ".eml": partial(load_eml, load_member=member, depth=depth, max_depth=limits.max_archive_depth),
        ".mbox": partial(load_mbox, load_member=member, depth=depth, max_depth=limits.max_archive_depth),
        ".msg": partial(load_msg, load_member=member, depth=depth, limits=limits),
        **dict.fromkeys(ARCHIVE_EXTENSIONS, archive),
        **dict.fromkeys(IMAGE_EXTENSIONS, partial(load_image, options=ocr)),
    }
    if extension not in loaders:
        kind = f"'{extension}'" if extension else "without an extension"
        supported = ", ".join(sorted(SUPPORTED_EXTENSIONS))
        raise UnsupportedFileTypeError(source_name, f"unsupported file type {kind}; supported: {supported}")
    return loaders[extension]
