"""Create the metadata store from a database URL."""

from __future__ import annotations

from indexer.store.sql import SqlStore


def create_store(url: str) -> SqlStore:
    """Open (and create if needed) the store at a SQLAlchemy URL.

    One SQLAlchemy implementation serves SQLite and PostgreSQL alike; a non-SQL store would get a base
    class here when it exists.

    Args:
        url: e.g. ``sqlite:///data/index/babelsearch.db`` or ``postgresql+psycopg://user@host/db``.

    Returns:
        The store.
    """
    return SqlStore(url)
