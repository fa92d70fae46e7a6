"""Alembic migrations of the store's schema, run in code on open (see ``indexer.store.migrate``)."""
