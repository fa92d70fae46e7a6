"""Databases as the release before migrations wrote them (schema revision 0001), for the migration tests."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
from sqlalchemy import create_engine, insert

DIM = 384


def _legacy_schema():
    spec = importlib.util.spec_from_file_location(
        "schema_0001", Path(__file__).parent / "indexer" / "fixtures" / "schema_0001.py"
    )
    module = importlib.util.module_from_spec(spec)
    # SQLAlchemy resolves the models' string annotations through the module's entry in sys.modules.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


LEGACY = _legacy_schema()


def _unit_vectors(n: int, seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal((n, DIM)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def make_legacy_database(url: str, n_chunks: int = 30) -> np.ndarray:
    """A database as the release before migrations wrote it: its models, float32 blobs, a job, an error.

    Returns:
        The chunk vectors, in chunk id order (ids 1..n).
    """
    engine = create_engine(url)
    LEGACY.Base.metadata.create_all(engine)
    vectors = _unit_vectors(n_chunks)
    with engine.begin() as conn:
        conn.execute(insert(LEGACY.CollectionRow), [{"id": 1, "name": "news", "description": "old"}])
        conn.execute(
            insert(LEGACY.DocumentRow),
            [
                {
                    "id": 1,
                    "collection_id": 1,
                    "sha256": "a" * 64,
                    "title": "Old",
                    "source_name": "old.txt",
                    "language": "de",
                    "size": 10,
                    "n_chunks": n_chunks,
                    "metadata": {"pages": 2},
                    "text": "Wasser",
                }
            ],
        )
        conn.execute(
            insert(LEGACY.ChunkRow),
            [
                {
                    "id": i + 1,
                    "document_id": 1,
                    "ordinal": i,
                    "text": f"Wasser Eis Nummer {i}",
                    "char_start": 0,
                    "char_end": 5,
                    "language": "de",
                    "n_tokens": 4,
                    "embedding": v.tobytes(),
                }
                for i, v in enumerate(vectors)
            ],
        )
        conn.execute(
            insert(LEGACY.IndexMetaRow),
            [{"key": "generation", "value": "7"}, {"key": "model", "value": "builtin:multilingual-e5-small"}],
        )
        conn.execute(
            insert(LEGACY.IngestErrorRow),
            [{"file_name": "bad.pdf", "collection": "news", "stage": "load", "message": "no text"}],
        )
        conn.execute(insert(LEGACY.JobRow), [{"id": 1, "state": "done", "collection": "news", "files_total": 1}])
        conn.execute(
            insert(LEGACY.JobFileRow),
            [{"job_id": 1, "ordinal": 0, "display_name": "old.txt", "spool_name": "0.bin", "status": "added"}],
        )
    engine.dispose()
    return vectors
