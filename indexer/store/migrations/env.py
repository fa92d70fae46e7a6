"""Alembic environment: migrates the connection ``indexer.store.migrate`` hands over (no alembic.ini, no URL)."""

from __future__ import annotations

from alembic import context

from indexer.store.schema import Base

connection = context.config.attributes["connection"]
# SQLite alters a table by copying it ("batch" mode); other databases alter in place.
context.configure(
    connection=connection, target_metadata=Base.metadata, render_as_batch=connection.dialect.name == "sqlite"
)
with context.begin_transaction():
    context.run_migrations()
