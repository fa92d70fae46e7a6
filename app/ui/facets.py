"""Language facets: how many relevant passages each language holds, as pills that narrow the results to one."""

from __future__ import annotations

import streamlit as st

from app.service import language_name
from app.ui.text import md_escape

#: Session key of the chosen facet language (None: all languages).
FACET_KEY = "facet_language"
#: Session key of (search signature, counts) of the last search without a facet language.
_COUNTS_KEY = "facet_counts"


def facet_language(signature: str) -> str | None:
    """The facet language to search in, if one is chosen for this very search.

    Call it before the facets are drawn: a choice made for another query or other options is cleared.

    Args:
        signature: the query and the options that change the counts.

    Returns:
        The language code chosen, or None.
    """
    cached = st.session_state.get(_COUNTS_KEY)
    if cached is None or cached[0] != signature:
        st.session_state[FACET_KEY] = None
        return None
    return st.session_state.get(FACET_KEY)


def facet_label(code: str, count: int) -> str:
    """A facet's label, e.g. "German · 12"; gray when the language has no clearly relevant passage.

    Args:
        code: language code.
        count: relevant passages in that language.

    Returns:
        Escaped Markdown.
    """
    name = "unknown language" if code == "unknown" else language_name(code)
    label = f"{md_escape(name)} · {count:,}"
    return label if count else f":gray[{label}]"


def render_facets(counts: dict[str, int], signature: str) -> None:
    """Show the per-language counts as pills; choosing one reruns the search in that language only.

    While a language is chosen, the counts of the search over all languages stay shown, so that the user can
    switch to another language or clear the choice.

    Args:
        counts: ``SearchResponse.language_counts`` of the search just run.
        signature: the same signature as given to ``facet_language``.
    """
    if st.session_state.get(FACET_KEY) is None:
        st.session_state[_COUNTS_KEY] = (signature, counts)
    counts = st.session_state[_COUNTS_KEY][1]
    if not counts:
        return
    # Most relevant passages first; equal counts by name, so that the order does not jump between runs.
    codes = sorted(counts, key=lambda code: (-counts[code], language_name(code)))
    with st.container(horizontal=True, vertical_alignment="bottom", key="facets"):
        chosen = st.pills(
            "Relevant passages per language",
            codes,
            format_func=lambda code: facet_label(code, counts[code]),
            key=FACET_KEY,
            help="How many passages in each language are clearly relevant to the query. Choose a language "
            "to see its results only; choose it again, or Show all languages, to see every language.",
        )
        if chosen is not None:
            st.button(
                "Show all languages", key="facet_clear", icon=":material/close:", type="tertiary", on_click=_clear
            )


def _clear() -> None:
    st.session_state[FACET_KEY] = None
