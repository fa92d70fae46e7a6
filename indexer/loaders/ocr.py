"""OCR with Tesseract (through pytesseract): images (.png, .jpg, .jpeg, .tif, .tiff, .webp) and scanned PDF pages.

pytesseract runs Debian's ``tesseract`` program on each page; it is a thin, well-kept wrapper that leaves
the language packs to the system. Where the program is missing, files that need OCR fail with a reason
that says how to install it.
"""

from __future__ import annotations

import io
import logging
import warnings
from typing import Any

from indexer.errors import LoaderError
from indexer.loaders.common import first_line, make_document, normalize_text
from indexer.types import LoadedDocument

logger = logging.getLogger(__name__)

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp")
#: Largest image read, in pixels (a 600-dpi A3 scan is about 70 million); beyond, a decompression bomb.
MAX_PIXELS = 120_000_000
MISSING_REASON = ("OCR is not available: the tesseract program is not installed (Debian: apt-get install "
                  "tesseract-ocr tesseract-ocr-<language>)")  # fmt: skip
_PAGE_STARTS_KEY = "page_starts"


class OcrUnavailableError(LoaderError):
    """Tesseract is not installed, so a file that needs OCR cannot be read."""


def load_image(data: bytes, source_name: str, languages: str = "") -> list[LoadedDocument]:
    """Read the text of an image by OCR; every frame of a multi-page TIFF is a page.

    Args:
        data: raw file content.
        source_name: display name of the file.
        languages: Tesseract languages joined by "+", e.g. ``"eng+rus"``; "" means every installed one.

    Returns:
        One document; ``pages`` and ``page_starts`` in its metadata, ``ocr`` set to the languages used.

    Raises:
        OcrUnavailableError: if Tesseract is not installed.
        LoaderError: if the image is unreadable, too large or shows no text.
    """
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
    lang = resolve_languages(languages, source_name)
    pages = [ocr_image(frame, lang, source_name) for frame in frames]
    text, starts = _join(pages)
    metadata: dict[str, Any] = {"pages": len(pages), _PAGE_STARTS_KEY: starts, "ocr": lang}
    return [make_document(text, source_name, Image.MIME.get(image.format or "", "image/*"), title=first_line(text),
                          metadata=metadata, empty_reason="no text found by OCR")]  # fmt: skip


def ocr_image(image: Any, lang: str, source_name: str) -> str:
    """The text Tesseract reads in one image.

    Args:
        image: a PIL image.
        lang: Tesseract languages joined by "+".
        source_name: display name, for the error.

    Returns:
        The normalised text, stripped.

    Raises:
        OcrUnavailableError: if Tesseract is not installed.
        LoaderError: if Tesseract fails on the image.
    """
    import pytesseract

    try:
        return normalize_text(pytesseract.image_to_string(image, lang=lang)).strip()
    except pytesseract.TesseractNotFoundError as e:
        raise OcrUnavailableError(source_name, MISSING_REASON) from e
    except pytesseract.TesseractError as e:
        raise LoaderError(source_name, f"OCR failed ({e})") from e


def resolve_languages(languages: str, source_name: str) -> str:
    """The Tesseract language string to use: the setting, or every installed language but OSD.

    Args:
        languages: the ``ocr_languages`` setting.
        source_name: display name, for the error.

    Returns:
        Languages joined by "+".

    Raises:
        OcrUnavailableError: if Tesseract is not installed.
    """
    import pytesseract

    if languages:
        return languages
    try:
        installed = [name for name in pytesseract.get_languages(config="") if name not in ("osd", "equ")]
    except pytesseract.TesseractNotFoundError as e:
        raise OcrUnavailableError(source_name, MISSING_REASON) from e
    return "+".join(sorted(installed)) or "eng"


def _join(pages: list[str]) -> tuple[str, list[int]]:
    starts, pieces, offset = [], [], 0
    for page in pages:
        if pieces and page:
            offset += 2
        starts.append(offset)
        if page:
            pieces.append(page)
            offset += len(page)
    return "\n\n".join(pieces), starts
