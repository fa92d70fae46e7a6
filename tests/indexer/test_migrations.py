"""Schema migrations: a database of the release before migrations opens upgraded, with its data, on both engines."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from legacy_db import DIM, LEGACY, make_legacy_database
from sqlalchemy import Engine, create_engine, select, text

from indexer.errors import StoreError
from indexer.store import create_store, migrate, vector_codec
from indexer.store.schema import Base, ChunkRow

ROOT = Path(__file__).resolve().parents[2]
KEYWORD_TABLES = {
    "chunks_fts",
    "chunks_fts_data",
    "chunks_fts_idx",
    "chunks_fts_content",
    "chunks_fts_docsize",
    "chunks_fts_config",
    "chunk_terms",
}


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'babelsearch.db'}"
    return request.getfixturevalue("postgres_url")


def _schema_diff(engine: Engine, metadata) -> list:
    # The keyword index lives beside the models (created by the store, not by a revision).
    def include(obj, name, kind, reflected, compare_to) -> bool:
        return not (kind == "table" and name in KEYWORD_TABLES)

    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": include, "compare_type": True})
        return compare_metadata(context, metadata)


def test_a_database_of_the_previous_release_opens_migrated_with_its_data(url: str) -> None:
    vectors = make_legacy_database(url)
    store = create_store(url)
    try:
        assert migrate.current(store.engine) == migrate.SchemaState(migrate.HEAD, migrate.HEAD)
        assert store.counts() == {"collections": 1, "documents": 1, "chunks": 30, "errors": 1}
        assert store.get_meta() == {"generation": "7", "model": "builtin:multilingual-e5-small"}
        assert store.document(1).metadata == {"pages": 2}
        assert store.chunks([3])[3].text == "Wasser Eis Nummer 2"
        # Every row was converted to float16 in place, and reads back as float32 within float16's precision.
        with store.engine.connect() as conn:
            raw = conn.execute(text("SELECT embedding FROM chunks ORDER BY id")).scalars().all()
        assert {len(bytes(b)) for b in raw} == {1 + 2 * DIM}
        decoded = np.stack([np.frombuffer(b, np.float32) for b in store.embeddings(range(1, 31)).values()])
        assert np.abs(decoded - vectors).max() < 1e-3
        assert np.min(np.sum(decoded * vectors, axis=1)) > 0.9999
        [(ids, matrix)] = list(store.iter_vectors())
        assert ids.tolist() == list(range(1, 31)) and matrix.dtype == np.float32
        np.testing.assert_array_equal(matrix, decoded)
        # The keyword index was built over the old chunks, and the jobs tables kept their rows.
        assert [cid for cid, _ in store.keyword_search("Nummer 2", 5)][:1] == [3]
        from indexer.store.jobs import JobStore

        assert JobStore(store).get(1).files[0].display_name == "old.txt"
        assert _schema_diff(store.engine, Base.metadata) == []
    finally:
        store.close()


def test_an_empty_database_gets_the_models_schema_and_the_baseline_is_the_old_release(url: str) -> None:
    engine = create_engine(url)
    assert migrate.upgrade(engine) == (None, migrate.HEAD)
    assert _schema_diff(engine, Base.metadata) == []
    with engine.begin() as conn:
        from alembic import command

        command.downgrade(migrate._config(conn), "0001")
    # Revision 0001 is exactly the schema of the models released before migrations.
    assert _schema_diff(engine, LEGACY.Base.metadata) == []
    engine.dispose()


def test_the_head_constant_is_the_newest_script() -> None:
    assert migrate.revisions()[0] == migrate.HEAD


def test_a_database_from_a_newer_release_is_refused_by_name(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    create_store(url).close()
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(StoreError, match=r"revision 9999.*newer Babel Search"):
        create_store(url)


def test_rows_of_either_format_read_as_float32_while_a_migration_is_half_way(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'half.db'}"
    vectors = make_legacy_database(url, n_chunks=10)
    engine = create_engine(url)
    with engine.begin() as conn:
        # Half the rows converted, as a migration stopped half-way leaves them; the revision still 0001.
        for i in range(1, 6):
            conn.execute(
                text("UPDATE chunks SET embedding = :b WHERE id = :i"),
                {"b": vector_codec.encode(vectors[i - 1]), "i": i},
            )
        conn.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)"))
        conn.execute(text("INSERT INTO alembic_version VALUES ('0001')"))
    with engine.connect() as conn:
        read = conn.execute(select(ChunkRow.embedding).order_by(ChunkRow.id)).scalars().all()
    assert np.abs(np.stack([np.frombuffer(b, np.float32) for b in read]) - vectors).max() < 1e-3
    assert migrate.upgrade(engine) == ("0001", migrate.HEAD)
    with engine.connect() as conn:
        raw = conn.execute(text("SELECT embedding FROM chunks ORDER BY id")).scalars().all()
    assert [vector_codec.is_float32(b) for b in raw] == [False] * 10
    assert np.abs(np.stack([vector_codec.decode(b) for b in raw]) - vectors).max() < 1e-3


CHILD = """
import logging, sys, time
from indexer.store import create_store
logging.basicConfig(level=logging.WARNING, format="%(name)s %(message)s")
time.sleep(max(0.0, float(sys.argv[2]) - time.time()))
store = create_store(sys.argv[1])
print(store.counts()["chunks"])
"""


def test_two_processes_opening_one_old_database_migrate_it_once(url: str) -> None:
    make_legacy_database(url, n_chunks=5_000)
    start = time.time() + 3  # both children import first, then open at the same moment
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, url, str(start)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(2)
    ]
    outputs = [child.communicate(timeout=120) for child in children]
    assert [child.returncode for child in children] == [0, 0], [err[-2000:] for _, err in outputs]
    assert [out.strip() for out, _ in outputs] == ["5000", "5000"]
    assert sum(err.count("migrating the database schema") for _, err in outputs) == 1, outputs
    engine = create_engine(url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [migrate.HEAD]
        raw = conn.execute(text("SELECT embedding FROM chunks")).scalars().all()
    assert not any(vector_codec.is_float32(bytes(b)) for b in raw)
    engine.dispose()


def test_a_store_opens_a_database_another_connection_is_writing_once_the_write_ends(tmp_path: Path) -> None:
    # A rollback-journal database with a write transaction open elsewhere: switching it to WAL is refused at
    # once (SQLite does not wait there), so the store must wait for the writer rather than fail.
    path = tmp_path / "busy.db"
    url = f"sqlite:///{path}"
    make_legacy_database(url, n_chunks=3)
    writer = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("UPDATE documents SET title = 'Busy'")
    timer = threading.Timer(1.0, writer.execute, ["COMMIT"])
    timer.start()
    try:
        store = create_store(url)
    finally:
        timer.join()
        writer.close()
    assert store.counts()["chunks"] == 3
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    store.close()
