"""Page numbers of search results, derived from the page start offsets kept in a document's metadata.

PDF, slide (.pptx) and image documents keep ``page_starts`` in their metadata: the character offset where
each page starts in the document's text. A chunk's page is the last page starting at or before its
``char_start``; no schema change is needed.
"""

from __future__ import annotations

import bisect
import logging
import threading
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any, Protocol

from indexer.errors import DocumentNotFoundError
from indexer.loaders.common import PAGE_STARTS_KEY
from indexer.loaders.office import PPTX_MIME
from indexer.loaders.pdf import PDF_MIME

logger = logging.getLogger(__name__)

#: Documents whose page starts are remembered (a document's text, hence its pages, never changes).
CACHE_SIZE = 4096


class _Paged(Protocol):
    document_id: int
    char_start: int
    source_name: str
    title: str
    mime: str
    page: int | None


def page_of(page_starts: list[int] | None, char_start: int) -> int | None:
    """The 1-based page a character offset falls on.

    Args:
        page_starts: where each page starts in the text (ascending; a blank page starts where the page before ends).
        char_start: the offset.

    Returns:
        The page number, or None when the document has no pages.
    """
    if not page_starts:
        return None
    return max(bisect.bisect_right(page_starts, char_start), 1)


def page_span(metadata: dict[str, Any], page: int | None, length: int) -> tuple[int, int, int] | None:
    """Where a page's text starts and ends, and how many pages the document has.

    Args:
        metadata: the document's metadata (``page_starts`` where it has pages).
        page: the 1-based page, or None.
        length: the length of the document's text.

    Returns:
        (start, end, page count), or None when the document or the result has no pages.
    """
    starts = metadata.get(PAGE_STARTS_KEY) or []
    if page is None or not 1 <= page <= len(starts):
        return None
    end = starts[page] if page < len(starts) else length
    return min(starts[page - 1], length), min(max(end, starts[page - 1]), length), len(starts)


def has_pages(mime: str) -> bool:
    """Whether documents of a MIME type carry page numbers (PDF, slides, images)."""
    return mime in (PDF_MIME, PPTX_MIME) or mime.startswith("image/")


class PageNumbers:
    """Sets ``page`` on search results, reading each paged document's page starts once.

    Args:
        store: the metadata store (its ``document(document_id)`` gives the metadata).
        size: documents remembered.
    """

    def __init__(self, store: Any, size: int = CACHE_SIZE):
        self.store = store
        self.size = size
        self._starts: OrderedDict[tuple[int, str, str, str], list[int] | None] = OrderedDict()
        self._lock = threading.Lock()

    def annotate(self, results: Iterable[_Paged]) -> None:
        """Set each result's ``page`` (None for formats without pages).

        Args:
            results: search results, changed in place.
        """
        for result in results:
            if has_pages(result.mime):
                result.page = page_of(self._page_starts(result), result.char_start)

    def _page_starts(self, result: _Paged) -> list[int] | None:
        # Keyed by more than the id: an id freed by a deletion may be given to another document.
        key = (result.document_id, result.source_name, result.title, result.mime)
        with self._lock:
            if key in self._starts:
                self._starts.move_to_end(key)
                return self._starts[key]
        try:
            starts = self.store.document(result.document_id).metadata.get(PAGE_STARTS_KEY)
        except DocumentNotFoundError:
            # Deleted since it was found: no page, and nothing remembered.
            return None
        starts = [int(s) for s in starts] if isinstance(starts, list) else None
        with self._lock:
            self._starts[key] = starts
            while len(self._starts) > self.size:
                self._starts.popitem(last=False)
        return starts
