"""Baseline: the schema of the last release without migrations (collections, documents, chunks, jobs).

Revision ID: 0001
Revises:
Create Date: 2026-05-01

Databases of that release have every table and no ``alembic_version``: the upgrade creates only the tables that
are missing, so it runs on them as on an empty database. The tables are frozen copies, not the live models,
so later model changes cannot change what this revision creates.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _tables() -> sa.MetaData:
    meta = sa.MetaData()
    sa.Table(
        "collections",
        meta,
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(length=200), nullable=False, unique=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    sa.Table(
        "index_meta",
        meta,
        sa.Column("key", sa.String(length=100), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),
    )
    sa.Table(
        "ingest_errors",
        meta,
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("file_name", sa.Text(), nullable=False),
        sa.Column("collection", sa.String(length=200), nullable=False),
        sa.Column("stage", sa.String(length=50), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    sa.Table(
        "documents",
        meta,
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "collection_id",
            sa.Integer(),
            sa.ForeignKey("collections.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("source_name", sa.Text(), nullable=False),
        sa.Column("mime", sa.String(length=100), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=True),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("n_chunks", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("metadata", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.UniqueConstraint("collection_id", "sha256"),
    )
    sa.Table(
        "chunks",
        meta,
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("document_id", sa.Integer(), sa.ForeignKey("documents.id", ondelete="CASCADE"), nullable=False),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("char_start", sa.Integer(), nullable=False),
        sa.Column("char_end", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=True, index=True),
        sa.Column("n_tokens", sa.Integer(), nullable=False),
        sa.Column("embedding", sa.LargeBinary(), nullable=False),
        sa.Index("ix_chunks_document", "document_id", "ordinal"),
        sqlite_autoincrement=True,
    )
    _job_tables(meta)
    return meta


def _job_tables(meta: sa.MetaData) -> None:
    sa.Table(
        "jobs",
        meta,
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("state", sa.String(length=20), nullable=False, index=True),
        sa.Column("collection", sa.String(length=200), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("enqueued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("heartbeat", sa.Float(), nullable=False),
        sa.Column("worker", sa.String(length=200), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        *(
            sa.Column(name, sa.Integer(), nullable=False)
            for name in ("files_total", "files_done", "bytes_total", "bytes_done", "chunks_done")
        ),
        sa.Column("current_file", sa.Text(), nullable=False),
        sa.Column("chunks_per_s", sa.Float(), nullable=False),
        sa.Column("eta_s", sa.Float(), nullable=True),
    )
    sa.Table(
        "job_files",
        meta,
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("job_id", sa.Integer(), sa.ForeignKey("jobs.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.Column("display_name", sa.Text(), nullable=False),
        sa.Column("spool_name", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in ("documents", "duplicates", "chunks")),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.UniqueConstraint("job_id", "ordinal"),
    )


def upgrade() -> None:
    """Create the tables (and their indexes) that do not exist yet."""
    _tables().create_all(op.get_bind(), checkfirst=True)


def downgrade() -> None:
    """Drop every table of the baseline, and the keyword index kept beside it (see ``indexer.store.fts*``)."""
    for keyword_table in ("chunk_terms", "chunks_fts"):
        op.execute(f"DROP TABLE IF EXISTS {keyword_table}")
    _tables().drop_all(op.get_bind(), checkfirst=True)
