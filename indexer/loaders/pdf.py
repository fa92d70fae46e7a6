"""Loader for PDF files, with pypdf."""

from __future__ import annotations

import io
import logging
from typing import Any

from pypdf import PasswordType, PdfReader
from pypdf.errors import DependencyError, FileNotDecryptedError, PdfReadError, PyPdfError

from indexer.errors import LoaderError
from indexer.loaders.common import PAGE_STARTS_KEY, clip_title, first_line, join_pages, make_document, normalize_text
from indexer.loaders.ocr import (
    OCR_FAILED_KEY,
    OCR_SKIPPED_KEY,
    OcrOptions,
    OcrUnavailableError,
    PageText,
    ocr_metadata,
    ocr_page,
)
from indexer.types import LoadedDocument

logger = logging.getLogger(__name__)

PDF_MIME = "application/pdf"
NO_TEXT_REASON = "no extractable text: no text layer, and no images to read by OCR"
# Placeholder titles written by PDF producers (reportlab, print drivers) that name nothing.
_PLACEHOLDER_TITLES = frozenset(("untitled", "untitled document", "title", "document"))


def load_pdf(data: bytes, source_name: str, ocr: OcrOptions | None = None) -> list[LoadedDocument]:
    """Load the text layer of a PDF, pages separated by blank lines; pages without one are read by OCR.

    Args:
        data: raw file content.
        source_name: display name of the file.
        ocr: how pages without a text layer are read (languages, page time bound, progress); None turns OCR off.

    Returns:
        One document; the page count, where each page starts (``page_starts``), the pages read by OCR and how,
        the pages OCR failed on or skipped, author and creation date go into its metadata.

    Raises:
        LoaderError: if the PDF is corrupt, encrypted with a password, or no page has text.
    """
    reader = _open(data, source_name)
    texts, failed = _page_texts(reader, source_name)
    ocr_meta = _ocr_blank_pages(reader, texts, set(failed), source_name, ocr) if ocr is not None else {}
    info = _info(reader)
    # Pages are normalised one by one, so that their start offsets hold in the document's text.
    text, starts = join_pages([normalize_text(t).strip() for t in texts])
    metadata: dict[str, Any] = {"pages": len(texts), PAGE_STARTS_KEY: starts, **ocr_meta}
    if failed:
        metadata["pages_failed"] = len(failed)
    metadata.update({key: info[key] for key in ("author", "created") if info.get(key)})
    title = info.get("title") or first_line(text)
    return [make_document(text, source_name, PDF_MIME, title=title, metadata=metadata, empty_reason=NO_TEXT_REASON)]


def _open(data: bytes, source_name: str) -> PdfReader:
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and reader.decrypt("") == PasswordType.NOT_DECRYPTED:
            # Many PDFs are encrypted only with an owner password and open with an empty user password.
            raise LoaderError(source_name, "encrypted PDF: a password is needed to open it")
        len(reader.pages)
    except DependencyError as e:
        raise LoaderError(source_name, f"encrypted PDF: cannot decrypt it ({e}; install 'cryptography')") from e
    except FileNotDecryptedError as e:
        raise LoaderError(source_name, "encrypted PDF: a password is needed to open it") from e
    except (PyPdfError, ValueError, TypeError, KeyError, AttributeError, IndexError, OSError) as e:
        # pypdf reports broken files through its own errors but also through plain Python ones.
        raise LoaderError(source_name, f"corrupt or unreadable PDF ({type(e).__name__}: {e})") from e
    return reader


def _page_texts(reader: PdfReader, source_name: str) -> tuple[list[str], list[int]]:
    # A page whose text cannot be extracted keeps its place (blank), so that later pages keep their numbers.
    texts: list[str] = []
    failed: list[int] = []
    for number, page in enumerate(reader.pages, start=1):
        try:
            texts.append(page.extract_text() or "")
        except Exception as e:  # noqa: BLE001 - one broken page must not lose the rest of the file
            texts.append("")
            failed.append(number)
            logger.warning("%s: page %d skipped, its text cannot be extracted (%s)", source_name, number, e)
    if failed and len(failed) == len(texts):
        raise LoaderError(source_name, f"corrupt PDF: no page could be read ({len(failed)} failed)")
    return texts, failed


def _ocr_blank_pages(
    reader: PdfReader, texts: list[str], broken: set[int], source_name: str, options: OcrOptions
) -> dict[str, Any]:
    # Pages whose text layer is blank (scans) are read from their images, in place; the rest keep their layer.
    blank = [n for n, text in enumerate(texts, start=1) if not text.strip() and n not in broken]
    read: dict[int, PageText] = {}
    failed: list[list[Any]] = []
    for position, number in enumerate(blank):
        try:
            images = [image.image for image in reader.pages[number - 1].images]
        except (PyPdfError, ValueError, TypeError, KeyError, OSError, AttributeError) as e:
            logger.warning("%s: page %d: its images cannot be read for OCR (%s)", source_name, number, e)
            continue
        images = [image for image in images if image is not None]
        if not images:
            continue
        if options.on_page is not None:
            options.on_page(source_name, number, len(texts))
        try:
            pages = [ocr_page(image, options, source_name) for image in images]
        except OcrUnavailableError as e:
            return _missing(texts, blank[position:], source_name, e)
        except LoaderError as e:
            # One page that cannot be read (or runs past its time bound) fails alone; the report names it.
            failed.append([number, e.reason])
            continue
        texts[number - 1] = "\n".join(page.text for page in pages)
        read[number] = PageText(texts[number - 1], pages[0].languages, pages[0].script, pages[0].rotated)
    metadata: dict[str, Any] = {}
    if read:
        metadata = {"ocr_pages": sorted(read), **ocr_metadata(list(read.values()), list(read))}
    if failed:
        metadata[OCR_FAILED_KEY] = failed
    return metadata


def _missing(texts: list[str], unread: list[int], source_name: str, error: LoaderError) -> dict[str, Any]:
    # Without Tesseract the pages with a text layer are still indexed; the report names the pages left out.
    if not any(text.strip() for text in texts):
        raise LoaderError(source_name, f"no text layer (a scanned PDF?); {error.reason}") from error
    return {OCR_SKIPPED_KEY: unread}


def _info(reader: PdfReader) -> dict[str, str]:
    try:
        meta = reader.metadata
        if meta is None:
            return {}
        created = meta.creation_date
        title = clip_title(meta.title)
        return {
            "title": "" if title.lower() in _PLACEHOLDER_TITLES else title,
            "author": clip_title(meta.author),
            "created": created.isoformat() if created else "",
        }
    except (PdfReadError, ValueError, TypeError, KeyError, AttributeError) as e:
        # Broken document info is not worth failing the file.
        logger.warning("PDF metadata unreadable (%s)", e)
        return {}
