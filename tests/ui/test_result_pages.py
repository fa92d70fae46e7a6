"""The result card shows the page (slide) a passage starts on, and nothing for formats without pages."""

from __future__ import annotations

from collections.abc import Callable

from fakes import FakeService
from streamlit.testing.v1 import AppTest

from app.results import SearchResponse


class PagedService(FakeService):
    """The fake's results, the first one on page 3 of a PDF."""

    def search(self, *args, **kwargs) -> SearchResponse:
        response = super().search(*args, **kwargs)
        response.results[0].page = 3
        response.results[0].mime = "application/pdf"
        return response


def test_result_card_shows_the_page(open_page: Callable[..., AppTest]) -> None:
    at = open_page("search", PagedService())
    at.text_input(key="query").input("flood")
    at.run()
    assert not at.exception
    captions = [str(c.value) for c in at.caption if "score" in str(c.value)]
    assert len(captions) >= 2
    assert " · p. 3 · " in captions[0]
    assert all("p. " not in caption for caption in captions[1:])
