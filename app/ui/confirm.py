"""A two-step delete: nothing is deleted until the user confirms."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from app.service import BabelSearchError
from app.ui.widgets import show_error

#: Session key of the message shown after a deletion.
NOTICE_KEY = "delete_notice"


def confirm_delete(what: str, target: str, delete: Callable[[], int]) -> None:
    """Delete in two steps: a delete button, then a warning with "Yes, delete" and "Cancel".

    Only one deletion is pending at a time; after it, the page reruns and shows a notice stored under
    ``NOTICE_KEY``.

    Args:
        what: escaped Markdown naming the thing, e.g. "the document Report".
        target: "<kind>:<id>"; the kind names the buttons' keys (``delete_<kind>``).
        delete: does the deletion and returns the number of passages removed.
    """
    kind = target.split(":", 1)[0]
    if st.session_state.get("pending_delete") != target:
        if st.button(f"Delete this {kind}", key=f"delete_{kind}", icon=":material/delete:"):
            st.session_state["pending_delete"] = target
            st.rerun()
        return
    st.warning(f"Delete {what}? This cannot be undone.", icon=":material/warning:")
    yes, no = st.columns(2)
    if no.button("Cancel", key="cancel_delete"):
        del st.session_state["pending_delete"]
        st.rerun()
    if yes.button("Yes, delete", key="confirm_delete", type="primary"):
        try:
            removed = delete()
        except BabelSearchError as e:
            show_error(e)
            return
        del st.session_state["pending_delete"]
        st.session_state[NOTICE_KEY] = f"Deleted {what} ({removed:,} passages removed)."
        st.rerun()
