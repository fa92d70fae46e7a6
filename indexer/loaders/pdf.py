"""Loader for PDF files, with pypdf."""

from __future__ import annotations

import io
import logging
from typing import Any

from pypdf import PasswordType, PdfReader
from pypdf.errors import DependencyError, FileNotDecryptedError, PdfReadError, PyPdfError

from indexer.errors import LoaderError
from indexer.loaders.common import clip_title, first_line, make_document
from indexer.types import LoadedDocument

logger = logging.getLogger(__name__)

PDF_MIME = "application/pdf"
NO_TEXT_REASON = "no extractable text: no text layer, and no images to read by OCR"
# Placeholder titles written by PDF producers (reportlab, print drivers) that name nothing.
_PLACEHOLDER_TITLES = frozenset(("untitled", "untitled document", "title", "document"))


def load_pdf(data: bytes, source_name: str, ocr_languages: str | None = "") -> list[LoadedDocument]:
    """Load the text layer of a PDF, pages separated by blank lines; pages without one are read by OCR.

    Args:
        data: raw file content.
        source_name: display name of the file.
        ocr_languages: Tesseract languages for pages without a text layer ("" every installed one);
            None turns OCR off.

    Returns:
        One document; the page count, the pages read by OCR, author and creation date go into its metadata.

    Raises:
        LoaderError: if the PDF is corrupt, encrypted with a password, or no page has text.
    """
    reader = _open(data, source_name)
    texts, failed = _page_texts(reader, source_name)
    texts, ocr_pages = _ocr_blank_pages(reader, texts, source_name, ocr_languages)
    info = _info(reader)
    metadata: dict[str, Any] = {"pages": len(texts) + failed}
    if ocr_pages:
        metadata["ocr_pages"] = ocr_pages
    if failed:
        metadata["pages_failed"] = failed
    metadata.update({key: info[key] for key in ("author", "created") if info.get(key)})
    text = "\n\n".join(t.strip() for t in texts if t.strip())
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


def _page_texts(reader: PdfReader, source_name: str) -> tuple[list[str], int]:
    texts: list[str] = []
    failed = 0
    for number, page in enumerate(reader.pages, start=1):
        try:
            texts.append(page.extract_text() or "")
        except Exception as e:  # noqa: BLE001 - one broken page must not lose the rest of the file
            failed += 1
            logger.warning("%s: page %d skipped, its text cannot be extracted (%s)", source_name, number, e)
    if failed and not texts:
        raise LoaderError(source_name, f"corrupt PDF: no page could be read ({failed} failed)")
    return texts, failed


def _ocr_blank_pages(
    reader: PdfReader, texts: list[str], source_name: str, languages: str | None
) -> tuple[list[str], list[int]]:
    # Pages whose text layer is blank (scans) are read from their images; the rest keep their layer.
    if languages is None or len(texts) != len(reader.pages):
        return texts, []
    from indexer.loaders.ocr import OcrUnavailableError, ocr_image, resolve_languages

    done: list[int] = []
    missing: OcrUnavailableError | None = None
    for number, page in enumerate(reader.pages, start=1):
        if texts[number - 1].strip():
            continue
        try:
            images = [image.image for image in page.images]
            if not images:
                continue
            lang = resolve_languages(languages, source_name)
            texts[number - 1] = "\n".join(ocr_image(image, lang, source_name) for image in images if image)
            done.append(number)
        except OcrUnavailableError as e:
            missing = e
            break
        except (PyPdfError, ValueError, TypeError, KeyError, OSError) as e:
            logger.warning("%s: page %d: its images cannot be read for OCR (%s)", source_name, number, e)
    if missing is not None and not any(t.strip() for t in texts):
        raise LoaderError(source_name, f"no text layer (a scanned PDF?); {missing.reason}") from missing
    return texts, done


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
