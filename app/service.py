"""SearchService: the one entry point of the UI and the CLI into search, browsing and ingest."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import BinaryIO

import numpy as np

from app.claims import is_claim
from app.highlight import match_share
from app.pages import PageNumbers
from app.rerank import rerank as rerank_results
from app.results import IndexStats, SearchResponse, SearchResult, highlight_spans
from indexer.config import Settings, load_settings
from indexer.embedder import Embedder
from indexer.errors import BabelSearchError, JobNotFoundError, ModelUnavailableError
from indexer.jobs import JobManager, run_worker
from indexer.language import detect_query_language, language_name, load_detector
from indexer.loaders import SUPPORTED_EXTENSIONS
from indexer.nli import NliModel, load_nli
from indexer.pipeline import Indexer
from indexer.report import IngestReport, Progress
from indexer.retrieval import KEYWORD_MIN_SHARE, KEYWORD_WEIGHT, rrf
from indexer.retriever import Filters
from indexer.store import keywords
from indexer.store.records import ChunkInfo, CollectionInfo, DocumentInfo, IngestErrorInfo, JobFileInfo, JobInfo
from indexer.vector_migration import VectorMigration, migrate_vectors
from indexer.vectors import read_saved, structure_label

logger = logging.getLogger(__name__)

# Re-exported for the UI, which imports only app.*.
__all__ = ["SUPPORTED_EXTENSIONS", "BabelSearchError", "CollectionInfo", "DocumentInfo", "JobFileInfo", "JobInfo",
           "JobNotFoundError", "ModelUnavailableError", "QueryError", "SearchService", "language_name",
           "load_settings"]  # fmt: skip


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
        self.job_manager = JobManager(self.settings, self.store)
        self.lock = threading.RLock()
        self.retriever = self.indexer.retriever
        self._nli: NliModel | None = None
        self._ms_per_pair = 0.0
        self._pages = PageNumbers(self.store)

    # --- search ---------------------------------------------------------------------------------

    def load_models(self) -> None:
        """Load the embedding model and the query-language detector now, not at the first search."""
        self.indexer.embedder
        load_detector()

    def warm_up(self) -> None:
        """Load what the first search would: the models, the vector index and its language profiles.

        The UI calls it in the background at start-up, so that the analyst's first query answers at once.
        """
        self.load_models()
        with self.lock:
            vectors = self.indexer.vectors
        self.retriever.profiles()
        vectors.warm()

    def search(self, query: str, k: int = 10, collections: list[str] | None = None,
               languages: list[str] | None = None, mimes: list[str] | None = None, *, balanced: bool = False,
               hybrid: bool = False, other_languages: bool = False, rerank: bool = False,
               stance: bool = False) -> SearchResponse:
        """Find the passages closest in meaning to ``query``, in any language.

        Args:
            query: text in any language; with ``hybrid``, "quoted phrases" must occur literally.
            k: number of results (1-1000).
            collections: only these collections (None = all).
            languages: only chunks in these languages (ISO 639-1 codes).
            mimes: only documents of these MIME types.
            balanced: cover the languages present instead of favouring the query's own language.
            hybrid: fuse keyword (BM25) and vector rankings, for names, numbers and identifiers.
            other_languages: leave out passages in the query's own language.
            rerank: score the top ``rerank_k`` candidates with the NLI model, set their stance, and reorder them
                when the query reads as a claim (questions and keywords keep the vector order).
            stance: set each result's stance (supports / contradicts / neutral, or unclear when the model is not
                confident) without reordering.

        Returns:
            The response with ranked results, per-language counts of relevant passages and timing.

        Raises:
            QueryError: for an empty query or k out of range.
            CollectionNotFoundError: for an unknown collection.
        """
        return self.search_many([query], k, collections, languages, mimes, balanced=balanced, hybrid=hybrid,
                                other_languages=other_languages, rerank=rerank, stance=stance)[0]

    def search_many(self, queries: list[str], k: int = 10, collections: list[str] | None = None,
                    languages: list[str] | None = None, mimes: list[str] | None = None, *, balanced: bool = False,
                    hybrid: bool = False, other_languages: bool = False, rerank: bool = False,
                    stance: bool = False) -> list[SearchResponse]:
        """Run several queries with one embedding pass (see ``search``)."""
        queries = [q.strip() for q in queries]
        if not queries or any(not q for q in queries):
            raise QueryError("the query is empty: type a few words or a sentence, in any language")
        if not 1 <= k <= 1000:
            raise QueryError(f"k must be between 1 and 1000, not {k}")
        for name in collections or []:
            self.store.collection_id(name)  # raises CollectionNotFoundError naming the existing ones
        options = {"k": k, "balanced": balanced, "hybrid": hybrid, "other_languages": other_languages,
                   "rerank": rerank, "stance": stance}
        with self.lock:
            self.indexer.vectors  # loads the model and the index on first use: not timed
            languages = self._check_languages(languages)
            t0 = time.perf_counter()
            qv = self.indexer.embedder.encode_queries(queries)
            filters = Filters(collections, languages, mimes)
            responses = [self._search_one(q, v, filters, options) for q, v in zip(queries, qv)]
        elapsed = (time.perf_counter() - t0) * 1000 / len(queries)
        for response in responses:
            response.elapsed_ms = elapsed
        return responses

    def _search_one(self, query: str, vector: np.ndarray, filters: Filters, options: dict) -> SearchResponse:
        # Reranking scores rerank_k candidates and keeps the best k of them.
        k = max(options["k"], self.settings.rerank_k) if options["rerank"] else options["k"]
        qlang = detect_query_language(query) or self.retriever.query_language(vector)
        if options["other_languages"] and qlang:
            present = filters.languages or list(self.retriever.language_ids())
            filters = Filters(filters.collections, [lang for lang in present if lang != qlang], filters.mimes)
        allowed = self.retriever.allowed(filters)
        if options["hybrid"]:
            keyword = self.store.keyword_search(query, max(k, 100), *filters)
            if keywords.has_phrases(query):  # quoted phrases: only passages that contain them
                allowed = np.array(sorted(i for i, _ in keyword), dtype=np.int64)
        ranked, facets = self.retriever.retrieve(vector, k if not options["hybrid"] else max(k, 100), allowed,
                                                 options["balanced"])
        ids = [i for i, _ in ranked]
        if options["hybrid"]:
            ids = self._fuse(query, qlang, ids, [i for i, _ in keyword], k)
        infos = self.store.chunks(ids[:k])
        scores = self.retriever.cosines(vector, ids[:k])
        results = [_result(n + 1, scores[i], infos[i], query, qlang)
                   for n, i in enumerate(i for i in ids[:k] if i in infos)]
        self._pages.annotate(results)
        reorder = bool(options["rerank"]) and is_claim(query)
        if options["rerank"] or options["stance"]:
            results = self._nli_pass(query, results, reorder=reorder)
        results = results[: options["k"]]
        for n, r in enumerate(results):
            r.rank = n + 1
        return SearchResponse(query, results, 0.0, qlang, facets, dict(options, reordered=reorder))

    def _check_languages(self, languages: list[str] | None) -> list[str] | None:
        # A code no passage has ("qq", or a language never ingested) would silently find nothing.
        if languages is None:
            return None
        codes = [code.strip().lower() for code in languages]
        held = self.retriever.language_ids()
        unknown = [code for code in codes if code not in held]
        if unknown and held:
            raise QueryError(f"no passages in language {', '.join(map(repr, unknown))}; the collections hold: "
                             f"{', '.join(sorted(held))}")
        return codes

    def _fuse(self, query: str, qlang: str | None, dense: list[int], keyword: list[int], k: int) -> list[int]:
        # Keyword votes weigh as much as the passage matches the query's words (names and numbers only across
        # languages): a passage sharing a stop word or two is no evidence.
        infos = self.store.chunks(keyword)
        weights = {}
        for i in keyword:
            share = match_share(infos[i].text, query, qlang, infos[i].language) if i in infos else 0.0
            weights[i] = KEYWORD_WEIGHT * share if share >= KEYWORD_MIN_SHARE else 0.0
        return [i for i, _ in rrf(dense, keyword, k=k, weights=[None, weights])]

    @property
    def nli(self) -> NliModel:
        """The NLI model (``settings.nli_model``), loaded on first use."""
        with self.lock:
            if self._nli is None:
                s = self.settings
                self._nli = load_nli(s.nli_model, s.cache_path, s.nli_backend, s.nli_quant, threads=s.threads)
            return self._nli

    def _nli_pass(self, query: str, results: list[SearchResult], reorder: bool) -> list[SearchResult]:
        # Within the latency budget: score as many candidates (best first) as the last calls' speed allows.
        affordable = max(4, int(self.settings.rerank_budget_ms / self._ms_per_pair)) if self._ms_per_pair else 10**6
        scored, rest = results[:affordable], results[affordable:]
        t0 = time.perf_counter()
        checked = rerank_results(scored, query, self.nli, reorder=reorder)
        if scored:
            self._ms_per_pair = (time.perf_counter() - t0) * 1000 / len(scored)
        return checked + rest

    def similar(self, document_id: int, k: int = 10, balanced: bool = True) -> SearchResponse:
        """Passages like a document's, in every language ("more like this"), the document itself left out.

        Args:
            document_id: the document to start from.
            k: number of results.
            balanced: cover the languages present.

        Returns:
            The response; its query is the document's title.
        """
        doc = self.store.document(document_id)
        with self.lock:
            self.indexer.vectors
            t0 = time.perf_counter()
            own = self.store.document_chunk_ids(document_id)
            vector = self.retriever.mean_vector(own)
            # Ask for the document's own chunks too and drop them: a filter of every other id would make the
            # index list all its ids (a full scan on a large or remote index).
            ranked, facets = self.retriever.retrieve(vector, k + len(own), None, balanced)
            own_ids = set(int(i) for i in own)
            ids = [i for i, _ in ranked if i not in own_ids][:k]
            infos, scores = self.store.chunks(ids), self.retriever.cosines(vector, ids)
            results = [_result(n + 1, scores[i], infos[i], "", None)
                       for n, i in enumerate(i for i in ids if i in infos)]
        self._pages.annotate(results)
        return SearchResponse(doc.title, results, (time.perf_counter() - t0) * 1000, doc.language, facets,
                              {"k": k, "balanced": balanced, "similar_to": document_id})

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
        # A loaded index first catches up with what workers committed since the last search.
        vectors = self.indexer.loaded_vectors
        facts = vectors.describe() if vectors is not None else read_saved(self.settings.home_path)
        return IndexStats(counts["collections"], counts["documents"], counts["chunks"], int(facts.get("count", 0)),
                          meta.get("model", self.settings.model), meta.get("fingerprint", ""),
                          int(meta.get("dim", 0)), structure_label(facts) or meta.get("index_type", ""),
                          self.store.engine_url_safe, str(self.settings.home_path), counts["errors"],
                          self.settings.nli_model)

    # --- change ---------------------------------------------------------------------------------

    def ingest(self, paths: Iterable[Path], collection: str,
               progress: Callable[[Progress], None] | None = None) -> IngestReport:
        """Ingest files or folders into a collection in the foreground (see ``Indexer.ingest``).

        No service lock is held: searches keep answering while it runs.
        """
        return self.indexer.ingest(paths, collection, progress)

    def ingest_files(self, files: list[tuple[Path, str]], collection: str,
                     progress: Callable[[Progress], None] | None = None) -> IngestReport:
        """Ingest (path, original file name) pairs in the foreground; searches keep answering meanwhile."""
        return self.indexer.ingest_files(files, collection, progress)

    # --- background jobs ------------------------------------------------------------------------

    def enqueue_upload(self, files: Iterable[tuple[str, BinaryIO]], collection: str) -> int:
        """Spool uploaded files (streamed) and enqueue an ingest job; returns at once with the job id.

        Args:
            files: (original file name, binary stream) pairs; the names are for display only.
            collection: the target collection, created when the job runs.

        Returns:
            The job id; ``job(id)`` shows its progress and report.
        """
        return self.job_manager.enqueue_streams(collection, files, {"source": "upload"})

    def enqueue_paths(self, paths: Iterable[Path], collection: str) -> int:
        """Copy files and folders into the spool and enqueue an ingest job (``babelsearch ingest --background``)."""
        return self.job_manager.enqueue_paths(collection, paths, {"source": "paths"})

    def jobs(self, limit: int = 50) -> list[JobInfo]:
        """Every user's ingest jobs, newest first, without their per-file reports."""
        return self.job_manager.recent(limit)

    def job(self, job_id: int) -> JobInfo:
        """One job with its progress and per-file report."""
        return self.job_manager.get(job_id)

    def cancel_job(self, job_id: int) -> JobInfo:
        """Cancel a queued job, or stop a running one after the file it is on."""
        return self.job_manager.cancel(job_id)

    def run_worker(self, concurrency: int = 1) -> None:
        """Run queued ingest jobs in this process until interrupted (``babelsearch worker``).

        Args:
            concurrency: jobs run at once, in threads sharing one model and one vector index.
        """
        run_worker(self.settings, concurrency, self.indexer.loaded_embedder)

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

    def migrate_vectors(self, backend: str, **settings: str | None) -> VectorMigration:
        """Move the vectors to another backend and switch to it (``babelsearch migrate-vectors``).

        Args:
            backend: "milvus", "faiss" or "numpy".
            **settings: the target's ``milvus_uri``, ``milvus_collection``, ``milvus_index`` (None: as configured).

        Returns:
            The counts verified and the settings file written (see ``indexer.vector_migration``).
        """
        with self.lock:
            result = migrate_vectors(self.indexer, backend, **settings)
            self.settings = self.indexer.settings
            return result

    def close(self) -> None:
        """Save and close."""
        self.indexer.close()


def _result(rank: int, score: float, info: ChunkInfo, query: str, query_language: str | None) -> SearchResult:
    return SearchResult(rank=rank, score=round(float(score), 6), text=info.text, source_name=info.source_name,
                        title=info.title, language=info.language, collection=info.collection,
                        document_id=info.document_id, chunk_id=info.chunk_id, char_start=info.char_start,
                        char_end=info.char_end, mime=info.mime,
                        highlights=highlight_spans(info.text, query, query_language, info.language))
