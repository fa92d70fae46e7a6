"""SearchService: the one entry point of the UI and the CLI into search, browsing and ingest."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from app.results import IndexStats, SearchResponse, SearchResult, highlight_spans
from indexer.config import Settings, load_settings
from indexer.embedder import Embedder
from indexer.errors import BabelSearchError
from indexer.language import detect_language
from indexer.pipeline import Indexer
from indexer.report import IngestReport, Progress
from indexer.store.records import ChunkInfo, CollectionInfo, DocumentInfo, IngestErrorInfo

logger = logging.getLogger(__name__)


class QueryError(BabelSearchError):
    """A query that cannot be run (empty, or options out of range)."""


class SearchService:
    """Search, browse, ingest and delete over one data directory.

    Args:
        settings: resolved settings (see ``indexer.config.load_settings``).
        embedder: an already loaded embedder to share (tests, benchmarks).
    """

    def __init__(self, settings: Settings | None = None, embedder: Embedder | None = None):
        self.settings = settings or load_settings()
        self.indexer = Indexer(self.settings, embedder)
        self.store = self.indexer.store
        self.lock = threading.RLock()

    # --- search ---------------------------------------------------------------------------------

    def search(self, query: str, k: int = 10, collections: list[str] | None = None,
               languages: list[str] | None = None, mimes: list[str] | None = None) -> SearchResponse:
        """Find the passages closest in meaning to ``query``, in any language.

        Args:
            query: text in any language.
            k: number of results (1-1000).
            collections: only these collections (None = all).
            languages: only chunks in these languages (ISO 639-1 codes).
            mimes: only documents of these MIME types.

        Returns:
            The response with ranked results and timing.

        Raises:
            QueryError: for an empty query or k out of range.
        """
        return self.search_many([query], k, collections, languages, mimes)[0]

    def search_many(self, queries: list[str], k: int = 10, collections: list[str] | None = None,
                    languages: list[str] | None = None, mimes: list[str] | None = None) -> list[SearchResponse]:
        """Run several queries with one embedding pass (see ``search``)."""
        queries = [q.strip() for q in queries]
        if not queries or any(not q for q in queries):
            raise QueryError("the query is empty: type a few words or a sentence, in any language")
        if not 1 <= k <= 1000:
            raise QueryError(f"k must be between 1 and 1000, not {k}")
        for name in collections or []:
            self.store.collection_id(name)  # raises CollectionNotFoundError naming the existing ones
        with self.lock:
            vectors = self.indexer.vectors  # loads the model and the index on first use: not timed
            t0 = time.perf_counter()
            qv = self.indexer.embedder.encode_queries(queries)
            allowed = None
            if collections is not None or languages is not None or mimes is not None:
                allowed = self.store.chunk_ids(collections, languages, mimes)
            scores, ids = vectors.index.search(qv, k, allowed)
        infos = self.store.chunks(ids[ids >= 0])
        elapsed = (time.perf_counter() - t0) * 1000 / len(queries)
        return [SearchResponse(q, self._results(q, s, i, infos), elapsed, detect_language(q))
                for q, s, i in zip(queries, scores, ids)]

    def _results(self, query: str, scores: np.ndarray, ids: np.ndarray,
                 infos: dict[int, ChunkInfo]) -> list[SearchResult]:
        out = []
        for score, chunk_id in zip(scores.tolist(), ids.tolist()):
            info = infos.get(chunk_id)
            if info is None:  # deleted between the vector search and the fetch
                continue
            out.append(_result(len(out) + 1, score, info, query))
        return out

    # --- browse ---------------------------------------------------------------------------------

    def collections(self) -> list[CollectionInfo]:
        """All collections with counts and language breakdowns."""
        return self.store.collections()

    def documents(self, collection: str | None = None, limit: int = 50, offset: int = 0,
                  order_by: str = "created_at", descending: bool = False) -> list[DocumentInfo]:
        """A page of documents (see ``SqlStore.documents``)."""
        return self.store.documents(collection, limit, offset, order_by, descending)

    def count_documents(self, collection: str | None = None) -> int:
        """Number of documents in a collection, or in all."""
        return self.store.count_documents(collection)

    def document(self, document_id: int) -> DocumentInfo:
        """One document with its full text."""
        return self.store.document(document_id)

    def errors(self, limit: int = 50) -> list[IngestErrorInfo]:
        """Recent ingest failures."""
        return self.store.errors(limit)

    def stats(self) -> IndexStats:
        """Counts, model and index facts, without loading the model when the index is empty of vectors."""
        counts = self.store.counts()
        meta = self.store.get_meta()
        vectors = self.indexer._vectors
        n_vectors = vectors.index.count() if vectors is not None else _saved_count(self.settings.home_path)
        return IndexStats(counts["collections"], counts["documents"], counts["chunks"], n_vectors,
                          meta.get("model", self.settings.model), meta.get("fingerprint", ""),
                          int(meta.get("dim", 0)), meta.get("index_type", self.settings.ann_backend),
                          self.store.engine_url_safe, str(self.settings.home_path), counts["errors"],
                          self.settings.nli_model)

    # --- change ---------------------------------------------------------------------------------

    def ingest(self, paths: Iterable[Path], collection: str,
               progress: Callable[[Progress], None] | None = None) -> IngestReport:
        """Ingest files or folders into a collection (see ``Indexer.ingest``)."""
        with self.lock:
            return self.indexer.ingest(paths, collection, progress)

    def ingest_files(self, files: list[tuple[Path, str]], collection: str,
                     progress: Callable[[Progress], None] | None = None) -> IngestReport:
        """Ingest (temporary path, original file name) pairs, as the upload page does."""
        with self.lock:
            return self.indexer.ingest_files(files, collection, progress)

    def delete_document(self, document_id: int) -> int:
        """Delete one document; returns the number of chunks removed."""
        with self.lock:
            return len(self.indexer.delete_document(document_id))

    def delete_collection(self, name: str) -> int:
        """Delete a collection; returns the number of chunks removed."""
        with self.lock:
            return len(self.indexer.delete_collection(name))

    def reindex(self, reembed: bool = False) -> int:
        """Rebuild the vector index (optionally re-embedding); returns the vector count."""
        with self.lock:
            return self.indexer.reindex(reembed)

    def close(self) -> None:
        """Save and close."""
        self.indexer.close()


def _result(rank: int, score: float, info: ChunkInfo, query: str) -> SearchResult:
    return SearchResult(rank=rank, score=round(float(score), 6), text=info.text, source_name=info.source_name,
                        title=info.title, language=info.language, collection=info.collection,
                        document_id=info.document_id, chunk_id=info.chunk_id, char_start=info.char_start,
                        char_end=info.char_end, mime=info.mime, highlights=highlight_spans(info.text, query))


def _saved_count(home: Path) -> int:
    import json

    try:
        return int(json.loads((home / "config.json").read_text(encoding="utf-8")).get("count", 0))
    except (OSError, ValueError):
        return 0
