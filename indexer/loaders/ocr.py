"""OCR with Tesseract (through pytesseract): images (.png, .jpg, .jpeg, .tif, .tiff, .webp) and scanned PDF pages.

pytesseract runs Debian's ``tesseract`` program on each page; it is a thin, well-kept wrapper that leaves
the language packs to the system. Each page is first given to OSD (``indexer.loaders.ocr_script``) for its
script and rotation, then read, turned upright, with the packs of that script; each page has a time bound
and is reported to a progress callback before it is read. Where the program is missing, files that need
OCR fail, or keep their other pages, with a reason that says how to install it.
"""

from __future__ import annotations

import io
import logging
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from indexer.errors import LoaderError
from indexer.loaders.common import PAGE_STARTS_KEY, first_line, join_pages, make_document, normalize_text
from indexer.loaders.ocr_script import detect, installed_languages, languages_for, text_languages, upright
from indexer.types import LoadedDocument

logger = logging.getLogger(__name__)

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp")
#: Largest image read, in pixels (a 600-dpi A3 scan is about 70 million); beyond, a decompression bomb.
MAX_PIXELS = 120_000_000
MISSING_REASON = ("OCR is not available: the tesseract program is not installed (Debian: apt-get install "
                  "tesseract-ocr tesseract-ocr-<language>)")  # fmt: skip
#: Metadata key: ``[page, reason]`` for each page OCR could not read (the others are kept).
OCR_FAILED_KEY = "ocr_failed_pages"
#: Metadata key: pages without a text layer left unread because Tesseract is missing.
OCR_SKIPPED_KEY = "ocr_skipped_pages"

#: Called before a page is read by OCR: (display name, page number from 1, pages in the file).
PageCallback = Callable[[str, int, int], None]


class OcrUnavailableError(LoaderError):
    """Tesseract is not installed, so a file that needs OCR cannot be read."""


@dataclass(frozen=True)
class OcrOptions:
    """How pages are read by OCR.

    Attributes:
        languages: Tesseract languages joined by "+" for every page; "" picks them per page from the script OSD
            detects (every installed pack where OSD cannot tell).
        page_timeout_s: seconds one page may take (OSD and OCR together) before it fails alone; 0: no limit.
        on_page: called before each page is read.
    """

    languages: str = ""
    page_timeout_s: float = 60.0
    on_page: PageCallback | None = None


@dataclass(frozen=True)
class PageText:
    """The text OCR read on one page, and how.

    Attributes:
        text: normalised and stripped.
        languages: the Tesseract languages it was read with.
        script: the script OSD named ("" when it could not tell).
        rotated: degrees the page was turned clockwise before reading.
    """

    text: str
    languages: str
    script: str = ""
    rotated: int = 0


def load_image(data: bytes, source_name: str, options: OcrOptions | None = None) -> list[LoadedDocument]:
    """Read the text of an image by OCR; every frame of a multi-page TIFF is a page, and fails alone.

    Args:
        data: raw file content.
        source_name: display name of the file.
        options: languages, page time bound and progress callback; the defaults when None.

    Returns:
        One document; ``pages``, ``page_starts``, ``ocr`` (languages used), ``ocr_scripts`` and, where any,
        ``ocr_rotated`` and ``ocr_failed_pages`` in its metadata.

    Raises:
        OcrUnavailableError: if Tesseract is not installed.
        LoaderError: if the image is unreadable, too large, or no page shows text.
    """
    options = options or OcrOptions()
    image, frames = _open_image(data, source_name)
    pages: list[PageText | None] = []
    failed: list[list[Any]] = []
    for number, frame in enumerate(frames, start=1):
        if options.on_page is not None:
            options.on_page(source_name, number, len(frames))
        try:
            pages.append(ocr_page(frame, options, source_name))
        except OcrUnavailableError:
            raise
        except LoaderError as e:
            pages.append(None)
            failed.append([number, e.reason])
    if failed and len(failed) == len(frames):
        raise LoaderError(source_name, failed[0][1] if len(frames) == 1 else f"page {failed[0][0]}: {failed[0][1]}")
    text, starts = join_pages([page.text if page else "" for page in pages])
    metadata = {"pages": len(frames), PAGE_STARTS_KEY: starts, **ocr_metadata(pages)}
    if failed:
        metadata[OCR_FAILED_KEY] = failed
    return [make_document(text, source_name, _mime(image), title=first_line(text), metadata=metadata,
                          empty_reason="no text found by OCR")]  # fmt: skip


def ocr_page(image: Any, options: OcrOptions, source_name: str) -> PageText:
    """Read one page: OSD for its script and rotation (when the ``osd`` pack is installed), then OCR.

    Args:
        image: a PIL image.
        options: languages and the page's time bound.
        source_name: display name, for errors.

    Returns:
        The page's text and how it was read.

    Raises:
        OcrUnavailableError: if Tesseract is not installed.
        LoaderError: if Tesseract fails on the page or runs past the page's time bound.
    """
    import pytesseract

    timeout = max(options.page_timeout_s, 0.0)
    deadline = time.monotonic() + timeout
    try:
        installed = installed_languages(str(pytesseract.pytesseract.tesseract_cmd))
        orientation = detect(image, timeout, source_name) if "osd" in installed else None
        turned = upright(image, orientation)
        rotated = orientation.rotate if orientation is not None and turned is not image else 0
        script = orientation.script if orientation else ""
        lang = options.languages or languages_for(script, installed) or text_languages(installed)
        # What is left of the page's time goes to reading it (at least a second).
        left = max(deadline - time.monotonic(), 1.0) if timeout else 0
        text = normalize_text(pytesseract.image_to_string(turned, lang=lang, timeout=left)).strip()
    except pytesseract.TesseractNotFoundError as e:
        raise OcrUnavailableError(source_name, MISSING_REASON) from e
    except pytesseract.TesseractError as e:
        raise LoaderError(source_name, f"OCR failed ({' '.join(str(e).split())})") from e
    except RuntimeError as e:
        if "timeout" not in str(e):
            raise
        raise LoaderError(source_name, f"OCR took longer than {timeout:g} s; stopped (ocr_page_timeout_s)") from e
    return PageText(text, lang, script, rotated)


def ocr_metadata(pages: list[PageText | None], numbers: list[int] | None = None) -> dict[str, Any]:
    """The metadata that says how pages were read: languages, scripts and turned pages.

    Args:
        pages: each page read by OCR (None for one that failed).
        numbers: the page numbers of ``pages`` (1, 2, ... when None).

    Returns:
        ``ocr`` (the languages used, joined by "+"), ``ocr_scripts`` (page -> script, where detected) and
        ``ocr_rotated`` (page -> degrees turned, where turned).
    """
    numbers = numbers or list(range(1, len(pages) + 1))
    read = [(n, page) for n, page in zip(numbers, pages, strict=True) if page is not None]
    languages = list(dict.fromkeys(lang for _, page in read for lang in page.languages.split("+")))
    metadata: dict[str, Any] = {"ocr": "+".join(languages)}
    scripts = {str(n): page.script for n, page in read if page.script}
    if scripts:
        metadata["ocr_scripts"] = scripts
    rotated = {str(n): page.rotated for n, page in read if page.rotated}
    if rotated:
        metadata["ocr_rotated"] = rotated
    return metadata


def ocr_note(documents: list[LoadedDocument]) -> str:
    """The report note for pages OCR failed on or skipped ("" for none); removes them from the metadata.

    Args:
        documents: the documents of one file.

    Returns:
        e.g. ``"OCR failed on page 3: OCR took longer than 60 s; stopped (ocr_page_timeout_s)"``.
    """
    notes = []
    for document in documents:
        failed = document.metadata.pop(OCR_FAILED_KEY, [])
        skipped = document.metadata.pop(OCR_SKIPPED_KEY, [])
        prefix = f"{document.source_name}: " if "/" in document.source_name else ""
        notes += [f"{prefix}OCR failed on page {page}: {reason}" for page, reason in failed[:5]]
        if len(failed) > 5:
            notes.append(f"{prefix}OCR failed on {len(failed) - 5:,} more page(s)")
        if skipped:
            pages = ", ".join(str(page) for page in skipped[:10]) + (", ..." if len(skipped) > 10 else "")
            notes.append(f"{prefix}OCR skipped: {len(skipped):,} page(s) without a text layer not read "
                         f"(page {pages}): {MISSING_REASON}")  # fmt: skip
    return "; ".join(notes)


def _open_image(data: bytes, source_name: str) -> tuple[Any, list[Any]]:
    from PIL import Image, ImageSequence, UnidentifiedImageError

    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    try:
        with warnings.catch_warnings():
            # The size is checked below with a clear reason; Pillow's own warning would only repeat it.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
        # Opening reads only the header: the size is checked before any pixel is decoded.
        if image.width * image.height > MAX_PIXELS:
            raise LoaderError(source_name, f"image too large: {image.width * image.height:,} pixels, over the "
                                           f"limit of {MAX_PIXELS:,} (a decompression bomb?)")  # fmt: skip
        frames = [frame.copy() for frame in ImageSequence.Iterator(image)]
    except UnidentifiedImageError as e:
        raise LoaderError(source_name, "not a readable image (unknown or broken image format)") from e
    except (Image.DecompressionBombError, OSError, ValueError, SyntaxError) as e:
        raise LoaderError(source_name, f"not a readable image ({type(e).__name__}: {e})") from e
    return image, frames


def _mime(image: Any) -> str:
    from PIL import Image

    return Image.MIME.get(image.format or "", "image/*")
