"""Babel Search application layer: search service and web UI."""
