"""The document view opens a paged document at the page of the result that led there."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from app.pages import page_span

PAGES = ["Page one is about the orchestra. ", "Page two is about volcanic ash. ", "Page three is about rye bread."]
TEXT = "".join(PAGES)
STARTS = [0, len(PAGES[0]), len(PAGES[0]) + len(PAGES[1])]


@pytest.mark.parametrize(
    ("metadata", "page", "expected"),
    [
        ({"page_starts": STARTS}, 1, (0, STARTS[1], 3)),
        ({"page_starts": STARTS}, 3, (STARTS[2], len(TEXT), 3)),
        ({"page_starts": STARTS}, None, None),
        ({"page_starts": STARTS}, 4, None),
        ({"page_starts": STARTS}, 0, None),
        ({}, 1, None),
        ({"page_starts": [0, 0, 5]}, 1, (0, 0, 3)),  # a blank first page
    ],
)
def test_page_span(metadata: dict, page: int | None, expected: tuple | None) -> None:
    assert page_span(metadata, page, len(TEXT)) == expected


def _script(page: int | None) -> None:
    from datetime import UTC, datetime

    from app.results import SearchResult
    from app.ui.document import render_document
    from indexer.store.records import DocumentInfo

    text = "".join(["Page one is about the orchestra. ", "Page two is about volcanic ash. ",
                    "Page three is about rye bread."])  # fmt: skip
    starts = [0, 33, 65]

    class Service:
        def document(self, document_id: int) -> DocumentInfo:
            return DocumentInfo(document_id, "c", "scan", "scan.pdf", "application/pdf", "en", 100, 3,
                                datetime.now(UTC), {"page_starts": starts}, text)  # fmt: skip

    start = text.index("volcanic")
    result = SearchResult(1, 0.9, "volcanic ash.", "scan.pdf", "scan", "en", "c", 7, 70, start, start + 13,
                          "application/pdf", page=page)  # fmt: skip
    render_document(Service(), 7, result)


def test_the_document_view_opens_at_the_results_page() -> None:
    at = AppTest.from_function(_script, args=(2,)).run()
    assert not at.exception
    assert "Page 2 of 3" in [c.value for c in at.caption]
    shown = " ".join(m.value for m in at.markdown)
    assert "volcanic" in shown and "orchestra" not in shown  # page 1 is not shown before the passage
    assert "rye bread" in shown  # the text after the passage follows
    # A result without a page (another format) shows the text before the passage, and no page caption.
    at = AppTest.from_function(_script, args=(None,)).run()
    assert "orchestra" in " ".join(m.value for m in at.markdown)
    assert not [c for c in at.caption if c.value.startswith("Page ")]
