"""Schema migrations of the store with Alembic, run in code: on every open, and by ``babelsearch db upgrade``.

Two processes opening one database at once never both migrate: the migration runs under a lock (a file lock
beside a SQLite file, a transaction-scoped advisory lock on PostgreSQL) and the second one, once it has the
lock, finds the database at the head revision and does nothing. Every revision is also idempotent (the
baseline creates only missing tables, 0002 converts only unconverted rows), so a migration that stopped
half-way is finished by the next open.
"""

from __future__ import annotations

import fcntl
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, inspect, text

from indexer.errors import StoreError

#: Seconds a SQLite connection waits for another writer before it gives up (the store's and the migration's).
BUSY_TIMEOUT_S = 30

if TYPE_CHECKING:
    from alembic.config import Config

logger = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("migrations")
#: Advisory lock key of the migration on PostgreSQL (any constant shared by every process).
PG_LOCK_KEY = 0x0BABE15EA
#: The newest revision in ``migrations/versions`` (a test checks): an up-to-date database opens without
#: importing Alembic at all, which keeps it off the start-up time.
HEAD = "0002"


@dataclass(frozen=True)
class SchemaState:
    """Where a database stands: its revision (None before any migration) and the head of this release."""

    current: str | None
    head: str

    @property
    def up_to_date(self) -> bool:
        """Whether the database is at this release's head."""
        return self.current == self.head

    @property
    def newer(self) -> bool:
        """Whether the database is at a revision this release does not know (written by a newer one)."""
        return self.current is not None and self.current not in revisions()

    @property
    def pending(self) -> list[str]:
        """The revisions an upgrade would apply, oldest first (none for a database of a newer release)."""
        known = revisions()
        if self.newer:
            return []
        return list(reversed(known[: known.index(self.current)] if self.current in known else known))


def _config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

    # No alembic.ini: the scripts ship inside the package, and env.py migrates the connection handed over.
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


@cache
def revisions() -> tuple[str, ...]:
    """Every revision this release knows, newest first (read from the scripts)."""
    from alembic.script import ScriptDirectory

    return tuple(script.revision for script in ScriptDirectory.from_config(_config()).walk_revisions())


def _revision(conn: Connection) -> str | None:
    # Alembic keeps the revision in a one-row table; a database without it predates migrations (or is empty).
    if not inspect(conn).has_table("alembic_version"):
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def current(engine: Engine) -> SchemaState:
    """Read a database's revision without changing anything.

    Args:
        engine: the store's engine.

    Returns:
        The revision and this release's head.
    """
    with engine.connect() as conn:
        return SchemaState(_revision(conn), HEAD)


def upgrade(engine: Engine) -> tuple[str | None, str]:
    """Bring a database to the head revision (creating the schema of an empty one).

    Args:
        engine: the store's engine.

    Returns:
        (revision before, revision after).

    Raises:
        StoreError: when the database is at a revision this release does not know (made by a newer one).
    """
    before = current(engine).current
    if before == HEAD:
        return before, before
    from alembic import command
    from alembic.util.exc import CommandError

    with locked(engine) as conn:
        # Another process may have migrated while this one waited for the lock.
        before = _revision(conn)
        if SchemaState(before, HEAD).newer:
            raise StoreError(
                f"the database {engine.url.render_as_string(hide_password=True)} is at schema "
                f"revision {before}, which this release does not know (its newest is {HEAD}): "
                "it was written by a newer Babel Search - upgrade Babel Search to open it"
            )
        if before != HEAD:
            # Creating an empty database is routine; changing an existing one is worth a line in the log.
            log = logger.warning if before is not None or inspect(conn).has_table("chunks") else logger.info
            log("migrating the database schema from revision %s to %s", before or "none", HEAD)
            try:
                command.upgrade(_config(conn), "head")
            except CommandError as e:
                raise StoreError(f"schema migration failed: {e}") from e
    return before, HEAD


@contextmanager
def locked(engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction that holds the migration lock of this database.

    Schema changes outside Alembic (the keyword index) take it too: PostgreSQL's ``CREATE TABLE IF NOT EXISTS``
    is not safe against a concurrent one.

    Args:
        engine: the store's engine.

    Yields:
        The connection; the transaction commits when the block ends without an error.
    """
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if database and database != ":memory:":
        # SQLite DDL is not transactional through the driver: serialise migrators with a file lock instead.
        lock_path = Path(database).with_name(Path(database).name + ".migrate-lock")
        with lock_path.open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            with engine.begin() as conn:
                yield conn
        return
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            # Held until this transaction ends; PostgreSQL's DDL is transactional, so a migration is all or nothing.
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_LOCK_KEY})
        yield conn


def _engine(url: str) -> Engine:
    from sqlalchemy import create_engine

    # Wait for a writer rather than fail at once, as the store does.
    return create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_S} if url.startswith("sqlite") else {})


def database_state(url: str) -> SchemaState | None:
    """The revision of the database at a URL, read without creating or changing it.

    Args:
        url: a SQLAlchemy URL.

    Returns:
        The state, or None when a SQLite file does not exist yet.
    """
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        return None
    engine = _engine(url)
    try:
        return current(engine)
    finally:
        engine.dispose()


def upgrade_database(url: str) -> tuple[str | None, str]:
    """Migrate the database at a URL to this release's head (what opening the store does first).

    Args:
        url: a SQLAlchemy URL.

    Returns:
        (revision before, revision after).
    """
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = _engine(url)
    try:
        return upgrade(engine)
    finally:
        engine.dispose()
