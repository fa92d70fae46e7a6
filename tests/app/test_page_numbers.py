"""Page numbers of results: derived from the page starts a PDF's or a slide deck's metadata keeps."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from pdfs import pdf_bytes

from app.cli import main
from app.export import to_frame
from app.pages import PageNumbers, has_pages, page_of
from indexer.errors import DocumentNotFoundError
from indexer.loaders.pdf import PDF_MIME

SUBJECTS = ["the orchestra in the old concert hall", "volcanic ash over the northern airport",
            "the bakery that sells rye bread and poppy seed rolls"]  # fmt: skip
#: Each page: sentences about its own subject, more than a chunk of the tiny model's 64 tokens.
PDF_PAGES = [[f"Sentence {n} of page {p} is about {subject}." for n in range(1, 9)]
             for p, subject in enumerate(SUBJECTS, start=1)]  # fmt: skip


def deck_bytes(slides: list[str]) -> bytes:
    from pptx import Presentation

    deck = Presentation()
    for text in slides:
        slide = deck.slides.add_slide(deck.slide_layouts[1])
        slide.shapes.title.text = text
    buffer = io.BytesIO()
    deck.save(buffer)
    return buffer.getvalue()


def page_by_text(text: str) -> int:
    """The page a passage starts on, read from its first sentence ("Sentence n of page p ...")."""
    first = text.split(".")[0] + "."
    [page] = [p for p, lines in enumerate(PDF_PAGES, start=1) if first.strip() in lines]
    return page


@pytest.mark.parametrize(
    ("starts", "offset", "page"),
    [
        ([0, 29, 67, 69], 0, 1),
        ([0, 29, 67, 69], 28, 1),
        ([0, 29, 67, 69], 29, 2),
        ([0, 29, 67, 69], 66, 2),
        ([0, 29, 67, 69], 67, 3),
        ([0, 29, 67, 69], 500, 4),
        # Pages 2 and 3 are blank: they start where page 1 ends; page 4 follows the blank line.
        ([0, 10, 10, 12], 12, 4),
        ([0], 40, 1),
        ([], 0, None),
        (None, 5, None),
    ],
)
def test_page_of(starts: list[int] | None, offset: int, page: int | None) -> None:
    assert page_of(starts, offset) == page


@pytest.mark.parametrize(
    ("mime", "paged"),
    [
        (PDF_MIME, True),
        ("application/vnd.openxmlformats-officedocument.presentationml.presentation", True),
        ("image/tiff", True),
        ("text/plain", False),
        ("message/rfc822", False),
    ],
)
def test_formats_with_pages(mime: str, paged: bool) -> None:
    assert has_pages(mime) is paged


@dataclass
class _Result:
    document_id: int
    char_start: int
    mime: str
    source_name: str = "a.pdf"
    title: str = "A"
    page: int | None = None


class _Store:
    def __init__(self, metadata: dict[int, dict]):
        self.metadata = metadata
        self.calls: list[int] = []

    def document(self, document_id: int):
        self.calls.append(document_id)
        if document_id not in self.metadata:
            raise DocumentNotFoundError(f"no document with id {document_id}")
        return type("Doc", (), {"metadata": self.metadata[document_id]})()


def test_each_document_is_read_once_and_only_paged_ones() -> None:
    store = _Store({1: {"page_starts": [0, 100, 200]}, 2: {"pages": 3}})
    results = [_Result(1, 150, PDF_MIME), _Result(1, 250, PDF_MIME), _Result(2, 0, PDF_MIME),
               _Result(3, 0, "text/plain"), _Result(4, 0, PDF_MIME)]  # fmt: skip
    pages = PageNumbers(store)
    pages.annotate(results)
    pages.annotate(results[:1])
    # Document 2 predates page starts, 3 is text, 4 was deleted meanwhile: no page, no error.
    assert [r.page for r in results] == [2, 3, None, None, None]
    assert store.calls == [1, 2, 4]


def test_a_reused_id_is_not_given_the_old_documents_pages() -> None:
    store = _Store({1: {"page_starts": [0, 100]}})
    pages = PageNumbers(store)
    first = _Result(1, 150, PDF_MIME)
    pages.annotate([first])
    store.metadata[1] = {"page_starts": [0, 500]}
    again = _Result(1, 150, PDF_MIME, source_name="other.pdf")
    pages.annotate([again])
    assert (first.page, again.page) == (2, 1)


def test_search_results_carry_their_page(tiny_service, tmp_path: Path) -> None:
    (tmp_path / "report.pdf").write_bytes(pdf_bytes(PDF_PAGES))
    (tmp_path / "deck.pptx").write_bytes(deck_bytes(["Slide one: the orchestra.", "Slide two: the bakery."]))
    (tmp_path / "note.txt").write_text("A note about the bakery that sells rye bread.")
    tiny_service.ingest([tmp_path], "pages")
    results = tiny_service.search("bakery rye bread orchestra ash", k=100).results
    pdf = [r for r in results if r.source_name == "report.pdf"]
    # Every passage of the PDF: its page is the one its first sentence is on.
    assert {r.page for r in pdf} == {1, 2, 3}
    assert all(r.page == page_by_text(r.text) for r in pdf), [(r.page, r.text[:40]) for r in pdf]
    by_name = {r.source_name: r for r in results}
    assert by_name["note.txt"].page is None and by_name["note.txt"].to_dict()["page"] is None
    slides = {r.text: r.page for r in results if r.source_name == "deck.pptx"}
    assert slides and all(page == (1 if text.startswith("Slide one") else 2) for text, page in slides.items())
    assert "page" in to_frame([tiny_service.search("bakery", k=3)]).columns


def test_search_json_has_the_page(tmp_path: Path, tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch,
                                  capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    monkeypatch.setenv("BABELSEARCH_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("BABELSEARCH_MODEL", str(tiny_model_dir))
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "report.pdf").write_bytes(pdf_bytes(PDF_PAGES))
    (tmp_path / "docs" / "note.md").write_text("# Note\n\nThe orchestra tuned up before the concert.")
    assert main(["ingest", str(tmp_path / "docs"), "--collection", "demo"]) == 0
    capsys.readouterr()
    assert main(["search", "volcanic ash airport", "--k", "50", "--json"]) == 0
    results = json.loads(capsys.readouterr().out)
    assert all("page" in r for r in results)
    pdf = [r for r in results if r["source_name"] == "report.pdf"]
    assert pdf and all(r["page"] == page_by_text(r["text"]) for r in pdf)
    assert [r["page"] for r in results if r["source_name"] == "note.md"] == [None]
    assert main(["search", "volcanic ash airport", "--k", "50"]) == 0
    assert "(demo/report.pdf, p. " in capsys.readouterr().out
