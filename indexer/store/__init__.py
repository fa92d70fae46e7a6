"""Metadata store: the database is the source of truth for documents, chunks and embeddings."""

from __future__ import annotations

from indexer.store.factory import create_store
from indexer.store.sql import SqlStore

__all__ = ["SqlStore", "create_store"]
