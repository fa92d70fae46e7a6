"""SQLAlchemy 2 models: collections, documents, chunks, ingest errors, index metadata, ingest jobs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from indexer.store.vector_codec import EmbeddingBlob


def utcnow() -> datetime:
    """Timezone-aware now, for created_at columns."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    """Declarative base of every table."""


class CollectionRow(Base):
    """A named set of documents."""

    __tablename__ = "collections"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    documents: Mapped[list[DocumentRow]] = relationship(back_populates="collection", cascade="all, delete-orphan")


class DocumentRow(Base):
    """One source document (a file, or a row of a CSV/JSONL file)."""

    __tablename__ = "documents"
    __table_args__ = (UniqueConstraint("collection_id", "sha256"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    collection_id: Mapped[int] = mapped_column(ForeignKey("collections.id", ondelete="CASCADE"), index=True)
    # sha256 of the normalised text: the dedup key within a collection.
    sha256: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(Text, default="")
    source_name: Mapped[str] = mapped_column(Text, default="")
    mime: Mapped[str] = mapped_column(String(100), default="text/plain")
    language: Mapped[str | None] = mapped_column(String(16), nullable=True)
    size: Mapped[int] = mapped_column(Integer, default=0)
    n_chunks: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSON, default=dict)
    status: Mapped[str] = mapped_column(String(20), default="ready")
    text: Mapped[str] = mapped_column(Text, default="")
    collection: Mapped[CollectionRow] = relationship(back_populates="documents")
    chunks: Mapped[list[ChunkRow]] = relationship(back_populates="document", cascade="all, delete-orphan")


class ChunkRow(Base):
    """One embedded chunk; its id is the vector id in the ANN index."""

    __tablename__ = "chunks"
    # AUTOINCREMENT: a deleted chunk's id is never reused, so a stale vector can't point at a new chunk.
    __table_args__ = (Index("ix_chunks_document", "document_id", "ordinal"), {"sqlite_autoincrement": True})
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    ordinal: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    char_start: Mapped[int] = mapped_column(Integer)
    char_end: Mapped[int] = mapped_column(Integer)
    language: Mapped[str | None] = mapped_column(String(16), nullable=True, index=True)
    n_tokens: Mapped[int] = mapped_column(Integer, default=0)
    # Stored as float16 (see vector_codec); read back as float32 bytes, whatever the row's stored format.
    embedding: Mapped[bytes] = mapped_column(EmbeddingBlob)
    document: Mapped[DocumentRow] = relationship(back_populates="chunks")


class IngestErrorRow(Base):
    """A file that failed to ingest, with the stage and the reason."""

    __tablename__ = "ingest_errors"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    file_name: Mapped[str] = mapped_column(Text)
    collection: Mapped[str] = mapped_column(String(200))
    stage: Mapped[str] = mapped_column(String(50))
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class IndexMetaRow(Base):
    """Key/value facts about the index: model id, fingerprint, dim, generation counter."""

    __tablename__ = "index_meta"
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class JobRow(Base):
    """A durable ingest job: state, progress and who runs it (per-file results in ``job_files``)."""

    __tablename__ = "jobs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    state: Mapped[str] = mapped_column(String(20), default="queued", index=True)
    collection: Mapped[str] = mapped_column(String(200))
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # Set once every file is spooled: only then may a worker take the job.
    enqueued_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # Epoch seconds, compared across processes: a running job whose worker stopped beating is resumable.
    heartbeat: Mapped[float] = mapped_column(Float, default=0.0)
    worker: Mapped[str] = mapped_column(String(200), default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    error: Mapped[str] = mapped_column(Text, default="")
    files_total: Mapped[int] = mapped_column(Integer, default=0)
    files_done: Mapped[int] = mapped_column(Integer, default=0)
    bytes_total: Mapped[int] = mapped_column(Integer, default=0)
    bytes_done: Mapped[int] = mapped_column(Integer, default=0)
    chunks_done: Mapped[int] = mapped_column(Integer, default=0)
    current_file: Mapped[str] = mapped_column(Text, default="")
    chunks_per_s: Mapped[float] = mapped_column(Float, default=0.0)
    eta_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    files: Mapped[list[JobFileRow]] = relationship(
        back_populates="job", cascade="all, delete-orphan", order_by="JobFileRow.ordinal"
    )


class JobFileRow(Base):
    """One file of a job: its spooled name, its display name (never a path) and its result."""

    __tablename__ = "job_files"
    __table_args__ = (UniqueConstraint("job_id", "ordinal"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    ordinal: Mapped[int] = mapped_column(Integer)
    display_name: Mapped[str] = mapped_column(Text)
    spool_name: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer, default=0)
    # pending until committed; then added / duplicate / failed.
    status: Mapped[str] = mapped_column(String(20), default="pending")
    reason: Mapped[str] = mapped_column(Text, default="")
    documents: Mapped[int] = mapped_column(Integer, default=0)
    duplicates: Mapped[int] = mapped_column(Integer, default=0)
    chunks: Mapped[int] = mapped_column(Integer, default=0)
    seconds: Mapped[float] = mapped_column(Float, default=0.0)
    job: Mapped[JobRow] = relationship(back_populates="files")
