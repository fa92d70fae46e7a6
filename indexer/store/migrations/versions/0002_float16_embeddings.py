"""Embeddings stored as float16 (a tag byte and 2 bytes a dimension) instead of float32: half the bytes.

Revision ID: 0002
Revises: 0001
Create Date: 2026-05-01

A data migration only: the column stays binary. Rows are converted in id order, a batch at a time; a row
already converted (odd length, see ``indexer.store.vector_codec``) is left alone, so a run that stopped
half-way is finished by the next, and readers decode either format meanwhile. The format is frozen here
rather than imported, so this revision keeps doing what it did when the codec changes.
"""

from __future__ import annotations

import numpy as np
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

BATCH = 5000
FLOAT16_TAG = b"\x01"
_chunks = sa.table("chunks", sa.column("id", sa.Integer()), sa.column("embedding", sa.LargeBinary()))


def _to_float16(blob: bytes) -> bytes | None:
    # A whole number of float32s is an unconverted row; anything else was converted already.
    if len(blob) % 4:
        return None
    return FLOAT16_TAG + np.frombuffer(blob, dtype="<f4").astype("<f2").tobytes()


def _to_float32(blob: bytes) -> bytes | None:
    if len(blob) % 4 == 0:
        return None
    return np.frombuffer(blob, dtype="<f2", offset=1).astype("<f4").tobytes()


def _convert(convert) -> None:
    bind = op.get_bind()
    change = sa.update(_chunks).where(_chunks.c.id == sa.bindparam("chunk_id")).values(embedding=sa.bindparam("blob"))
    last = -1
    while True:
        rows = bind.execute(
            sa.select(_chunks.c.id, _chunks.c.embedding).where(_chunks.c.id > last).order_by(_chunks.c.id).limit(BATCH)
        ).all()
        if not rows:
            return
        last = rows[-1][0]
        values = [{"chunk_id": i, "blob": new} for i, blob in rows if (new := convert(bytes(blob))) is not None]
        if values:
            bind.execute(change, values)


def upgrade() -> None:
    """Convert float32 embeddings to tagged float16."""
    _convert(_to_float16)


def downgrade() -> None:
    """Convert tagged float16 embeddings back to float32 (the precision float16 dropped stays lost)."""
    _convert(_to_float32)
