"""Results and progress events of an ingest run."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class FileResult:
    """What happened to one file.

    Attributes:
        source_name: the file's display name.
        status: "added", "duplicate" or "failed" ("added" if any row of a CSV/JSONL file was added).
        documents: documents added from the file.
        duplicates: documents skipped because the collection already holds the same text.
        chunks: chunks added.
        message: the reason of a failure, or a note.
        note: a note on a file that was read (e.g. its text was truncated); copied to ``message`` unless it failed.
        document_ids: ids of the documents added.
        duplicate_ids: ids of the stored documents that the skipped duplicates matched.
        seconds: time spent on the file (load, chunk, its share of embedding, write).
    """

    source_name: str
    status: str
    documents: int = 0
    duplicates: int = 0
    chunks: int = 0
    message: str = ""
    note: str = ""
    document_ids: list[int] = field(default_factory=list)
    duplicate_ids: list[int] = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class IngestReport:
    """The outcome of an ingest run, file by file, with time spent per stage."""

    collection: str
    files: list[FileResult] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=lambda: Counter())
    #: True when the run was asked to stop before its last file.
    stopped: bool = False

    @property
    def added(self) -> list[FileResult]:
        """Files from which at least one document was added."""
        return [f for f in self.files if f.status == "added"]

    @property
    def duplicates(self) -> list[FileResult]:
        """Files whose every document was already in the collection."""
        return [f for f in self.files if f.status == "duplicate"]

    @property
    def failed(self) -> list[FileResult]:
        """Files that could not be ingested, with reasons."""
        return [f for f in self.files if f.status == "failed"]

    @property
    def n_chunks(self) -> int:
        """Chunks added in this run."""
        return sum(f.chunks for f in self.files)

    def summary(self) -> str:
        """One line for humans: counts of added, duplicate and failed files."""
        docs = sum(f.documents for f in self.files)
        return (f"{len(self.added)} added ({docs} documents, {self.n_chunks} chunks), "
                f"{len(self.duplicates)} duplicate, {len(self.failed)} failed")


@dataclass
class Progress:
    """A progress event for the CLI's tqdm bar or the UI's progress bar.

    Attributes:
        files_done: files finished.
        files_total: files in this run.
        current: the file being processed.
        stage: what is happening ("load", "ocr" for each page read by OCR, "embed", "write").
        chunks_done: chunks embedded so far.
    """

    files_done: int
    files_total: int
    current: str
    stage: str
    chunks_done: int = 0
