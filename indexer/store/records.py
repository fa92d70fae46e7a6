"""Plain records returned by the store (no ORM objects leave indexer/store)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass
class CollectionInfo:
    """A collection with its counts."""

    id: int
    name: str
    description: str
    created_at: datetime
    n_documents: int = 0
    n_chunks: int = 0
    languages: dict[str, int] = field(default_factory=dict)


@dataclass
class DocumentInfo:
    """A stored document (text included only when asked for)."""

    id: int
    collection: str
    title: str
    source_name: str
    mime: str
    language: str | None
    size: int
    n_chunks: int
    created_at: datetime
    metadata: dict[str, Any]
    text: str | None = None


@dataclass
class ChunkInfo:
    """A stored chunk joined with its document and collection."""

    chunk_id: int
    document_id: int
    ordinal: int
    text: str
    char_start: int
    char_end: int
    language: str | None
    title: str
    source_name: str
    mime: str
    collection: str
    document_language: str | None


@dataclass
class NewChunk:
    """A chunk ready to be stored."""

    ordinal: int
    text: str
    char_start: int
    char_end: int
    language: str | None
    n_tokens: int
    embedding: bytes


@dataclass
class IngestErrorInfo:
    """A recorded ingest failure."""

    file_name: str
    collection: str
    stage: str
    message: str
    created_at: datetime


@dataclass
class JobFileInfo:
    """One file of an ingest job and its result (status "pending" until committed)."""

    ordinal: int
    display_name: str
    spool_name: str
    size: int
    status: str
    reason: str = ""
    documents: int = 0
    duplicates: int = 0
    chunks: int = 0
    seconds: float = 0.0


@dataclass
class JobInfo:
    """An ingest job: state, progress, and its files when asked for.

    ``state`` is one of queued, running, done, failed, cancelled.
    """

    id: int
    state: str
    collection: str
    options: dict[str, Any]
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    worker: str
    attempts: int
    cancel_requested: bool
    error: str
    files_total: int
    files_done: int
    bytes_total: int
    bytes_done: int
    chunks_done: int
    current_file: str
    chunks_per_s: float
    eta_s: float | None
    heartbeat: float = 0.0
    files: list[JobFileInfo] = field(default_factory=list)

    @property
    def finished(self) -> bool:
        """Whether the job has reached a final state."""
        return self.state in ("done", "failed", "cancelled")
