"""Streamlit pages of Babel Search: thin render_*(service) functions over app.service."""
