"""Babel Search web UI: page configuration and navigation only (the pages live in app/ui)."""

from __future__ import annotations

import streamlit as st

from app.ui.pages import pages

st.set_page_config(page_title="Babel Search", page_icon=":material/travel_explore:", layout="centered")
st.navigation(pages()).run()
