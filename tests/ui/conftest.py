"""UI test fixtures: the fake service and an AppTest runner that opens any page."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fakes import FakeService
from streamlit.testing.v1 import AppTest


def _page_script(page: str) -> None:
    # Runs as a Streamlit script: the real navigation, opened on the page under test.
    import streamlit as st

    from app.ui.pages import pages

    st.navigation(pages(default=page)).run()


@pytest.fixture
def open_page(monkeypatch: pytest.MonkeyPatch) -> Callable[..., AppTest]:
    """Return ``open_page(page, service)``: an AppTest of the app on that page, already run once."""

    def run(page: str, service: object, timeout: float = 10) -> AppTest:
        monkeypatch.setattr("app.ui.pages.get_service", lambda: service)
        at = AppTest.from_function(_page_script, args=(page,), default_timeout=timeout)
        return at.run()

    return run


@pytest.fixture
def fake() -> FakeService:
    """A fake service with three documents (German, Arabic, and one full of markup)."""
    return FakeService()
