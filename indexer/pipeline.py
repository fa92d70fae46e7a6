"""Ingest pipeline: load → detect language → chunk → dedup → embed (length-sorted) → store → index."""

from __future__ import annotations

import hashlib
import logging
import threading
import time
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from indexer.ann import index_options
from indexer.chunking import chunk_text
from indexer.config import Settings
from indexer.embedder import Embedder, load_embedder
from indexer.errors import BabelSearchError, LoaderError, ModelMismatchError
from indexer.language import detect_language, detect_languages
from indexer.loaders import iter_files
from indexer.loaders.isolate import LoaderWorker, limits_from
from indexer.loaders.ocr import PageCallback
from indexer.report import FileResult, IngestReport, Progress
from indexer.retriever import Retriever
from indexer.store import SqlStore, create_store
from indexer.store.records import NewChunk
from indexer.types import ChunkSpan, LoadedDocument
from indexer.vectors import VectorCache

logger = logging.getLogger(__name__)

#: Chunks gathered from several files before one length-sorted embedding pass.
FLUSH_CHUNKS = 256


@dataclass
class _Prepared:
    """A document loaded and chunked, waiting to be embedded and stored."""

    result: FileResult
    doc: LoadedDocument
    sha256: str
    language: str | None
    spans: list[ChunkSpan]
    languages: list[str | None]


def _page_progress(progress: Callable[[Progress], None], n: int, total: int, report: IngestReport) -> PageCallback:
    # OCR is slow: each page read is a progress event of its own, naming the page.
    def on_page(source_name: str, page: int, pages: int) -> None:
        progress(Progress(n, total, f"{source_name} — OCR page {page} of {pages}", "ocr", report.n_chunks))

    return on_page


def content_hash(text: str) -> str:
    """sha256 of the NFC-normalised, whitespace-trimmed text: the dedup key within a collection."""
    return hashlib.sha256(unicodedata.normalize("NFC", text).strip().encode("utf-8")).hexdigest()


def _mismatch_message(meta: dict[str, str], emb: Embedder) -> str:
    """Name the index's model and runtime, the configured ones, and both ways out."""
    # Indexes from before the ONNX backend recorded no runtime: they were embedded with torch.
    built = meta.get("embed_backend", "torch fp32")
    if meta.get("model") == emb.model_id and built != emb.backend_label:
        backend, _, quant = built.partition(" ")
        quant = quant.split(" ")[0]
        how = f"BABELSEARCH_EMBED_BACKEND={backend}"
        if backend == "onnx":
            how += f" BABELSEARCH_EMBED_QUANT={quant}"
        return (f"the index was embedded with {built} (fingerprint {meta['fingerprint']}), but this process embeds "
                f"with {emb.backend_label} ({emb.fingerprint}); vectors of different runtimes are not mixed. Search "
                f"with the original runtime ({how}) or re-embed everything: babelsearch reindex --reembed")
    return (f"the index was built with model {meta.get('model')!r} (fingerprint {meta['fingerprint']}), but the "
            f"configured model is {emb.model_id!r} ({emb.fingerprint}). Search with the original model "
            f"(BABELSEARCH_MODEL={meta.get('model')}) or re-embed everything: babelsearch reindex --reembed")


class Indexer:
    """Owns the store, the embedder and the vector cache; the one way to change an index.

    Args:
        settings: resolved settings.
        embedder: an embedder to use instead of loading ``settings.model`` (tests, benchmarks).
    """

    def __init__(self, settings: Settings, embedder: Embedder | None = None):
        self.settings = settings
        settings.home_path.mkdir(parents=True, exist_ok=True)
        self.store: SqlStore = create_store(settings.database_url)
        self._embedder = embedder
        self._vectors: VectorCache | None = None
        # The read path: searches ask it for passages (it reads the cache as the last sync left it).
        self.retriever = Retriever(self.store, lambda: self.vector_cache(sync=False))
        # Files are parsed in a worker process under time and memory limits, reused across files.
        self.loader = LoaderWorker(limits_from(settings), settings.csv_text_field, settings.max_file_mb * 1024 * 1024)
        self.lock = threading.RLock()

    @property
    def embedder(self) -> Embedder:
        """The embedding model, loaded on first use."""
        with self.lock:
            if self._embedder is None:
                s = self.settings
                self._embedder = load_embedder(s.model, s.prompts, s.cache_path, s.batch_size, s.threads,
                                               s.embed_backend, s.embed_quant)
            return self._embedder

    @property
    def vectors(self) -> VectorCache:
        """The vector index, checked against the model and synced with the database."""
        return self.vector_cache(sync=True)

    @property
    def loaded_vectors(self) -> VectorCache | None:
        """The vector index, synced, if this process has loaded it; None otherwise (nothing is loaded)."""
        with self.lock:
            return self.vector_cache(sync=True) if self._vectors is not None else None

    @property
    def loaded_embedder(self) -> Embedder | None:
        """The embedding model if it is loaded (or was handed over); None otherwise."""
        return self._embedder

    def vector_cache(self, sync: bool = True) -> VectorCache:
        """The vector index, checked against the model on first use.

        Args:
            sync: catch up with the database first (one query for its generation); a search syncs once and then
                asks for the cache as it is.
        """
        with self.lock:
            if self._vectors is None:
                self.check_model()
                self._vectors = VectorCache(self.store, self.settings.home_path, self.settings.ann_backend,
                                            self.embedder.dim, index_options(self.settings))
                sync = True
            if sync:
                self._vectors.sync()
            return self._vectors

    def check_model(self) -> None:
        """Record the model on a new index; refuse an index built with another model.

        Raises:
            ModelMismatchError: naming both models and how to reindex.
        """
        meta = self.store.get_meta()
        emb = self.embedder
        if "fingerprint" not in meta or not self.store.has_chunks():
            self.store.set_meta({"model": emb.model_id, "fingerprint": emb.fingerprint, "dim": str(emb.dim),
                                 "normalised": "true", "index_type": self.settings.ann_backend,
                                 "embed_backend": emb.backend_label})
            return
        if meta["fingerprint"] != emb.fingerprint:
            raise ModelMismatchError(_mismatch_message(meta, emb))

    # --- ingest ---------------------------------------------------------------------------------

    def ingest(self, paths: Iterable[Path], collection: str,
               progress: Callable[[Progress], None] | None = None) -> IngestReport:
        """Ingest files and folders (recursively) into a collection.

        Args:
            paths: files or folders.
            collection: collection name, created if needed.
            progress: called after each step with a Progress event.

        Returns:
            The report: per file added / duplicate / failed with reasons.
        """
        return self.ingest_files([(p, p.name) for p in iter_files([Path(p) for p in paths])], collection, progress)

    def ingest_files(self, files: list[tuple[Path, str]], collection: str,
                     progress: Callable[[Progress], None] | None = None,
                     on_file: Callable[[int, FileResult], None] | None = None,
                     stop: Callable[[], bool] | None = None) -> IngestReport:
        """Ingest (path, display name) pairs; the name is for display only, never a path.

        Each file fails alone, with its reason recorded; each document is committed in one transaction.
        No lock is held across the batch: searches go on and see each document as it commits.

        Args:
            files: (path, display name) pairs.
            collection: collection name, created if needed.
            progress: called after each step with a Progress event.
            on_file: called with (position in ``files``, result) once everything of that file is committed.
            stop: asked before each file; True ends the run there (``report.stopped``), all before it committed.

        Returns:
            The report of the files processed.
        """
        report = IngestReport(collection)
        self.loader.start()
        cid = self.store.ensure_collection(collection)
        vectors = self.vectors
        pending: list[_Prepared] = []
        waiting: list[int] = []  # files prepared whose documents are not all committed yet
        seen: set[str] = set()
        for n, (path, name) in enumerate(files):
            if stop is not None and stop():
                report.stopped = True
                break
            result = FileResult(name, "failed")
            report.files.append(result)
            if progress:
                progress(Progress(n, len(files), name, "load", report.n_chunks))
            pages = _page_progress(progress, n, len(files), report) if progress else None
            pending += self._prepare(path, result, cid, seen, report, pages)
            waiting.append(n)
            if sum(len(p.spans) for p in pending) >= FLUSH_CHUNKS:
                self._flush(pending, cid, report, Progress(n, len(files), name, "embed"), progress)
                self._settle(report, waiting, on_file)
                pending, waiting = [], []
        self._flush(pending, cid, report, Progress(len(report.files), len(files), "", "embed"), progress)
        self._settle(report, waiting, on_file)
        vectors.save()
        return report

    @staticmethod
    def _settle(report: IngestReport, positions: list[int], on_file: Callable[[int, FileResult], None] | None) -> None:
        # Every document of these files is committed (or failed): their status is final.
        for n in positions:
            result = report.files[n]
            if result.documents:
                result.status = "added"
            elif result.duplicates and not result.message:
                result.status = "duplicate"
            if result.status != "failed" and result.note:
                result.message = result.note
            if on_file is not None:
                on_file(n, result)

    def _prepare(self, path: Path, result: FileResult, cid: int, seen: set[str],
                 report: IngestReport, on_page: PageCallback | None = None) -> list[_Prepared]:
        t0 = time.perf_counter()
        try:
            docs, result.note = self.loader.load(path, result.source_name, on_page)
        except LoaderError as e:
            self._fail(result, report.collection, "load", e.reason)
            result.seconds += time.perf_counter() - t0
            return []
        report.timings["load"] += time.perf_counter() - t0
        out = []
        for doc in docs:
            sha = content_hash(doc.text)
            stored = None if sha in seen else self.store.find_duplicate(cid, sha)
            if sha in seen or stored is not None:
                result.duplicates += 1
                if stored is not None:
                    result.duplicate_ids.append(stored)
                continue
            seen.add(sha)
            out.append(self._chunk(doc, sha, result, report.timings))
        result.seconds += time.perf_counter() - t0
        return out

    def _chunk(self, doc: LoadedDocument, sha: str, result: FileResult, timings: dict[str, float]) -> _Prepared:
        t0 = time.perf_counter()
        language = detect_language(doc.text)
        t1 = time.perf_counter()
        settings = self.settings
        spans = chunk_text(doc.text, self.embedder.token_spans, settings.chunk_tokens, settings.chunk_overlap)
        t2 = time.perf_counter()
        # Short chunks are too little evidence for a detector: they inherit the document's language.
        languages = [lang or language for lang in detect_languages([s.text for s in spans])] if len(spans) > 1 \
            else [language] * len(spans)
        timings["detect"] += (t1 - t0) + (time.perf_counter() - t2)
        timings["chunk"] += t2 - t1
        return _Prepared(result, doc, sha, language, spans, languages)

    def _flush(self, pending: list[_Prepared], cid: int, report: IngestReport, event: Progress,
               progress: Callable[[Progress], None] | None) -> None:
        texts = [s.text for p in pending for s in p.spans]
        if not texts:
            return
        t0 = time.perf_counter()
        done = [0]

        def on_batch(n: int) -> None:
            done[0] += n
            if progress:
                progress(Progress(event.files_done, event.files_total, event.current, "embed",
                                  report.n_chunks + done[0]))

        vectors = self.embedder.encode_documents(texts, on_batch)
        embed_s = time.perf_counter() - t0
        report.timings["embed"] += embed_s
        t0 = time.perf_counter()
        offset = 0
        for p in pending:
            vecs = vectors[offset:offset + len(p.spans)]
            offset += len(p.spans)
            t1 = time.perf_counter()
            self._write(p, cid, vecs, report.collection)
            # A file's share of the batch's embedding time is its share of the chunks.
            p.result.seconds += embed_s * len(p.spans) / len(texts) + time.perf_counter() - t1
        report.timings["write"] += time.perf_counter() - t0

    def _write(self, p: _Prepared, cid: int, vecs: np.ndarray, collection: str) -> None:
        chunks = [NewChunk(s.ordinal, s.text, s.char_start, s.char_end, lang, s.n_tokens, v.tobytes())
                  for s, lang, v in zip(p.spans, p.languages, vecs)]
        before = self.store.generation()
        try:
            doc_id, ids = self.store.add_document(cid, p.doc, p.sha256, p.language, chunks)
        except BabelSearchError as e:
            self._fail(p.result, collection, "write", str(e))
            return
        self._vectors.apply(before, add=(ids, vecs))
        p.result.documents += 1
        p.result.chunks += len(chunks)
        p.result.document_ids.append(doc_id)

    def _fail(self, result: FileResult, collection: str, stage: str, reason: str) -> None:
        result.status, result.message = "failed", reason
        logger.warning("%s: %s failed: %s", result.source_name, stage, reason)
        self.store.record_error(result.source_name, collection, stage, reason)

    # --- delete and reindex ---------------------------------------------------------------------

    def delete_document(self, document_id: int) -> np.ndarray:
        """Delete a document, its chunks and their vectors.

        Returns:
            The chunk ids removed.
        """
        return self._delete(lambda: self.store.delete_document(document_id))

    def delete_collection(self, name: str) -> np.ndarray:
        """Delete a collection with all its documents, chunks and vectors.

        Returns:
            The chunk ids removed.
        """
        return self._delete(lambda: self.store.delete_collection(name))

    def _delete(self, action: Callable[[], np.ndarray]) -> np.ndarray:
        with self.lock:
            vectors = self.vectors
            before = self.store.generation()
            ids = action()
            vectors.apply(before, remove=ids)
            vectors.save()
            return ids

    def reindex(self, reembed: bool = False, progress: Callable[[int], None] | None = None) -> int:
        """Rebuild the vector index from stored embeddings, or re-embed every chunk first.

        Args:
            reembed: embed all chunks again with the configured model (after a model change).
            progress: called with the number of chunks embedded after each batch.

        Returns:
            The number of vectors in the rebuilt index.
        """
        with self.lock:
            if reembed:
                for ids, texts in self.store.iter_chunk_texts():
                    vecs = self.embedder.encode_documents(texts, progress)
                    self.store.update_embeddings(ids, [v.tobytes() for v in vecs])
                self.store.set_meta({"model": self.embedder.model_id, "fingerprint": self.embedder.fingerprint,
                                     "dim": str(self.embedder.dim), "embed_backend": self.embedder.backend_label})
                self._vectors = None
            vectors = self.vectors
            vectors.rebuild()
            return vectors.index.count()

    def close(self) -> None:
        """Save the vector index and close the store."""
        with self.lock:
            if self._vectors is not None:
                self._vectors.save()
            self.store.close()
            self.loader.close()
