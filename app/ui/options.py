"""The Search page's sidebar: filters (collections, languages, file types) and options (balance, hybrid, NLI)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import streamlit as st

from app.ui.text import language_label

if TYPE_CHECKING:  # store records reach the UI through the service; they are named here for annotations only
    from app.service import CollectionInfo

#: File type filter: label -> MIME types stored by the loaders.
FILE_TYPES: dict[str, list[str]] = {
    "Plain text (.txt)": ["text/plain"],
    "Markdown (.md)": ["text/markdown"],
    "Web page (.html)": ["text/html"],
    "PDF (.pdf)": ["application/pdf"],
    "Word (.docx)": ["application/vnd.openxmlformats-officedocument.wordprocessingml.document"],
    "Table rows (.csv)": ["text/csv"],
    "JSON Lines (.jsonl)": ["application/jsonl"],
    "E-mail (.eml)": ["message/rfc822"],
}
#: The stances the NLI check gives, in the order the stance filter offers them.
STANCES = ["supports", "contradicts", "neutral", "unclear"]
#: Session key of the user's own choice for "Balance languages" (None until they set it).
BALANCE_CHOICE = "balanced_choice"


def render_options(collections: list[CollectionInfo]) -> tuple[dict[str, Any], list[str]]:
    """Draw the filters and search options in the sidebar.

    Args:
        collections: every collection, for the choices and the default of "Balance languages".

    Returns:
        The keyword arguments of ``SearchService.search`` (all but the query), and the stances to show
        (empty: all).
    """
    with st.sidebar:
        filters = _filters(collections)
        st.header("Search options")
        flags = _flags(several_languages(collections, filters["collections"]))
        stances = st.multiselect(
            "Show stances",
            STANCES,
            key="stance_filter",
            placeholder="All stances",
            disabled=not (flags["stance"] or flags["rerank"]),
            help="Keep only the passages whose stance on the query is one of these (needs the stance check).",
        )
    return {**filters, **flags}, stances


def several_languages(collections: list[CollectionInfo], chosen: list[str] | None) -> bool:
    """Whether the searched collections hold passages in more than one known language.

    Args:
        collections: every collection.
        chosen: the names searched (None: all).

    Returns:
        True when balancing the languages of the results can change them.
    """
    searched = [c for c in collections if chosen is None or c.name in chosen]
    return len({code for c in searched for code, n in c.languages.items() if n and code != "unknown"}) > 1


def _filters(collections: list[CollectionInfo]) -> dict[str, Any]:
    languages = sorted({code for c in collections for code in c.languages if code != "unknown"})
    st.header("Filters")
    names = st.multiselect(
        "Collections", [c.name for c in collections], key="filter_collections", placeholder="All collections"
    )
    codes = st.multiselect(
        "Result languages", languages, format_func=language_label, key="filter_languages", placeholder="All languages"
    )
    types = st.multiselect("File types", list(FILE_TYPES), key="filter_types", placeholder="All file types")
    k = st.slider("Number of results", 1, 50, 10, key="k")
    mimes = [mime for label in types for mime in FILE_TYPES[label]]
    return {"k": k, "collections": names or None, "languages": codes or None, "mimes": mimes or None}


def _remember_balance() -> None:
    st.session_state[BALANCE_CHOICE] = st.session_state["balanced"]


def _flags(multilingual: bool) -> dict[str, bool]:
    # The default follows the searched collections until the user sets the toggle; a plain session key keeps
    # their choice when widget state is dropped (e.g. after a visit to another page).
    choice = st.session_state.get(BALANCE_CHOICE)
    st.session_state["balanced"] = multilingual if choice is None else choice
    balanced = st.toggle(
        "Balance languages",
        key="balanced",
        on_change=_remember_balance,
        help="Cover every language that holds relevant passages instead of favouring the query's own language; "
        "the best hit stays first. On by default when the searched collections hold several languages.",
    )
    other = st.toggle(
        "Only other languages than my query's",
        key="other_languages",
        help="Leave out passages written in the language of the query, e.g. to find foreign-language sources.",
    )
    hybrid = st.toggle(
        "Keyword + meaning (hybrid)",
        key="hybrid",
        help='Fuse keyword matches with meaning, for names, numbers and identifiers. "Quoted phrases" '
        "must match literally: only passages that contain them are shown. Keywords match words as written, so "
        "this helps most when the query uses the passages' language; across languages, plain search ranks better.",
    )
    stance = st.toggle(
        "Check stance (NLI)",
        key="stance",
        help="Label each passage: supports, contradicts or neutral towards the query read as a claim, or "
        "unclear when the model is not confident enough to say. The order stays as it is. Adds about a second "
        "per search on a laptop CPU.",
    )
    rerank = st.toggle(
        "Rerank claims by stance",
        key="rerank",
        help="When the query is a statement, move the passages that decide it, for or against, up. "
        "Questions and keywords keep the meaning order and still get a stance.",
    )
    return {"balanced": balanced, "hybrid": hybrid, "other_languages": other, "rerank": rerank, "stance": stance}
