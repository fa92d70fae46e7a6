"""The Search page: one query box in any language, filters and options, language facets, and ranked passages."""

from __future__ import annotations

from typing import Any

import streamlit as st

from app.results import SearchResponse
from app.service import BabelSearchError, ModelUnavailableError, SearchService
from app.ui.facets import facet_language, render_facets
from app.ui.nav import link
from app.ui.options import render_options
from app.ui.result_list import render_cards, render_summary
from app.ui.similar import render_similar, similar_target
from app.ui.widgets import show_error

PLACEHOLDER = "e.g. flooding in the city centre · наводнение в центре города · 市中心的洪水"
#: Options that change which passages count as relevant, and so the language facets.
_FACET_OPTIONS = ("collections", "languages", "mimes", "balanced", "hybrid", "other_languages")


def render_search(service: SearchService) -> None:
    """Render the Search page.

    Args:
        service: the search service.
    """
    st.title("Search")
    try:
        collections = service.collections()
    except BabelSearchError as e:
        show_error(e)
        return
    if not any(c.n_chunks for c in collections):
        st.info(
            "The index is empty. Upload documents in any language first, then search them here.",
            icon=":material/inbox:",
        )
        link("upload", "Upload documents")
        return
    options, stances = render_options(collections)
    query = st.text_input("Search in any language", key="query", placeholder=PLACEHOLDER).strip()
    if not query:
        st.info(
            "Type a question or a few words, in any language: passages in every language are found by "
            "meaning, not by shared words. Narrow the search with the filters in the sidebar."
        )
        return
    if target := similar_target(query):
        render_similar(service, target, options["k"])
        return
    signature = repr([query, *(options[name] for name in _FACET_OPTIONS)])
    facet = facet_language(signature)
    response = _search(service, query, {**options, "languages": [facet]} if facet else options)
    if response is not None:
        _render_response(service, response, stances, signature)


def _search(service: SearchService, query: str, options: dict[str, Any]) -> SearchResponse | None:
    try:
        return service.search(query, **options)
    except ModelUnavailableError as e:
        show_error(e)
        if not (options["rerank"] or options["stance"]):
            return None
    except BabelSearchError as e:
        show_error(e)
        return None
    # The NLI model is missing (e.g. not trained yet): the search itself still works without stances.
    try:
        response = service.search(query, **{**options, "rerank": False, "stance": False})
    except BabelSearchError as e:
        show_error(e)
        return None
    st.info("The results below are shown without stance labels.", icon=":material/info:")
    return response


def _render_response(service: SearchService, response: SearchResponse, stances: list[str], signature: str) -> None:
    # The stance filter applies only once stances exist; results without a stance are never hidden by it.
    shown = [r for r in response.results if not stances or r.stance is None or r.stance in stances]
    render_summary(response, shown, "babel-search-results")
    render_facets(response.language_counts, signature)
    if not response.results:
        st.warning(
            "No passage matches these filters. Clear a filter in the sidebar (collections, languages, "
            "file types), or upload documents in the languages you need.",
            icon=":material/search_off:",
        )
        return
    if not shown:
        st.warning(
            "No passage has the chosen stance. Add stances to **Show stances** in the sidebar, or clear it.",
            icon=":material/filter_alt_off:",
        )
        return
    render_cards(service, shown, response.query)
