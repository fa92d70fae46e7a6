"""SQL metadata store on SQLAlchemy 2: SQLite (WAL) by default, PostgreSQL or any URL by configuration."""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import (
    Integer,
    LargeBinary,
    String,
    cast,
    create_engine,
    delete,
    event,
    func,
    select,
    type_coerce,
    update,
)
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from indexer.errors import CollectionNotFoundError, DocumentNotFoundError, StoreError
from indexer.store import fts, fts_pg, migrate, vector_codec
from indexer.store.records import ChunkInfo, CollectionInfo, DocumentInfo, IngestErrorInfo, NewChunk
from indexer.store.schema import ChunkRow, CollectionRow, DocumentRow, IndexMetaRow, IngestErrorRow
from indexer.types import LoadedDocument

logger = logging.getLogger(__name__)

KEYWORD_INDEXES = {"sqlite": fts, "postgresql": fts_pg}
SORTABLE = {"title": DocumentRow.title, "language": DocumentRow.language, "size": DocumentRow.size,
            "created_at": DocumentRow.created_at, "source_name": DocumentRow.source_name}


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the UI read while the CLI writes; foreign keys make deletes cascade to chunks.
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={migrate.BUSY_TIMEOUT_S * 1000}")
    _use_wal(cursor)
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _use_wal(cursor: Any) -> None:
    # Switching a database to WAL needs it to itself: SQLite answers "locked" at once, without its busy wait,
    # while another process writes (migrates) it, so wait here instead.
    deadline = time.monotonic() + migrate.BUSY_TIMEOUT_S
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


class SqlStore:
    """Documents, chunks, embeddings and index metadata in one SQL database: the source of truth."""

    def __init__(self, url: str):
        self.url = url
        try:
            if url.startswith("sqlite:///"):
                Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
            self.engine = create_engine(url)
            if self.engine.dialect.name == "sqlite":
                event.listen(self.engine, "connect", _sqlite_pragmas)
            # The schema comes from the migrations: an empty database is created, an older one upgraded.
            migrate.upgrade(self.engine)
            # The keyword index of the database: FTS5 in SQLite, tsvector + GIN in PostgreSQL, none elsewhere.
            self.keywords = KEYWORD_INDEXES.get(self.engine.dialect.name)
            if self.keywords is not None:
                with migrate.locked(self.engine) as conn:
                    self.keywords.create(conn)
        except SQLAlchemyError as e:
            raise StoreError(f"cannot open the database {self.engine_url_safe}: {e}") from e
        self._session = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def engine_url_safe(self) -> str:
        """The URL with any password hidden, for messages."""
        from sqlalchemy.engine import make_url

        return make_url(self.url).render_as_string(hide_password=True)

    def close(self) -> None:
        """Dispose of the connection pool."""
        self.engine.dispose()

    def session(self) -> Session:
        """A new ORM session (used inside ``with``)."""
        return self._session()

    # --- index metadata -------------------------------------------------------------------------

    def get_meta(self) -> dict[str, str]:
        """All index metadata as a dict."""
        with self.session() as s:
            return {row.key: row.value for row in s.scalars(select(IndexMetaRow))}

    def set_meta(self, values: dict[str, str]) -> None:
        """Insert or replace metadata keys.

        Args:
            values: key/value pairs.
        """
        with self.session() as s, s.begin():
            for key, value in values.items():
                s.merge(IndexMetaRow(key=key, value=str(value)))

    def generation(self) -> int:
        """The change counter, bumped in every transaction that adds or removes chunks."""
        with self.session() as s:
            value = s.scalar(select(IndexMetaRow.value).where(IndexMetaRow.key == "generation"))
        return int(value or 0)

    def _bump(self, s: Session) -> None:
        updated = s.execute(
            update(IndexMetaRow).where(IndexMetaRow.key == "generation").values(
                value=cast(cast(IndexMetaRow.value, Integer) + 1, String)
            )
        )
        if updated.rowcount == 0:
            s.add(IndexMetaRow(key="generation", value="1"))

    # --- collections ----------------------------------------------------------------------------

    def ensure_collection(self, name: str, description: str = "") -> int:
        """Return the id of the named collection, creating it if needed.

        Args:
            name: collection name (1-200 characters).
            description: used only when creating.

        Returns:
            The collection id.
        """
        name = name.strip()
        if not name or len(name) > 200:
            raise ValueError("a collection name must have 1 to 200 characters")
        with self.session() as s, s.begin():
            found = s.scalar(select(CollectionRow.id).where(CollectionRow.name == name))
            if found is not None:
                return found
            row = CollectionRow(name=name, description=description)
            s.add(row)
            s.flush()
            return row.id

    def collection_id(self, name: str) -> int:
        """The id of a collection.

        Raises:
            CollectionNotFoundError: naming the existing collections.
        """
        with self.session() as s:
            found = s.scalar(select(CollectionRow.id).where(CollectionRow.name == name))
            if found is None:
                names = list(s.scalars(select(CollectionRow.name).order_by(CollectionRow.name)))
                raise CollectionNotFoundError(f"no collection named {name!r}; existing: {names or 'none'}")
            return found

    def collections(self) -> list[CollectionInfo]:
        """All collections with document and chunk counts and chunk languages."""
        with self.session() as s:
            rows = s.scalars(select(CollectionRow).order_by(CollectionRow.name)).all()
            docs = {cid: n for cid, n in s.execute(
                select(DocumentRow.collection_id, func.count()).group_by(DocumentRow.collection_id))}
            langs = s.execute(
                select(DocumentRow.collection_id, ChunkRow.language, func.count())
                .join(ChunkRow, ChunkRow.document_id == DocumentRow.id)
                .group_by(DocumentRow.collection_id, ChunkRow.language)
            ).all()
        out = []
        for row in rows:
            lang_counts = {lang or "unknown": n for cid, lang, n in langs if cid == row.id}
            out.append(CollectionInfo(row.id, row.name, row.description, row.created_at, docs.get(row.id, 0),
                                      sum(lang_counts.values()), lang_counts))
        return out

    def delete_collection(self, name: str) -> np.ndarray:
        """Delete a collection with its documents and chunks.

        Returns:
            The chunk ids removed (to delete from the vector index).
        """
        cid = self.collection_id(name)
        with self.session() as s, s.begin():
            ids = self._chunk_ids_where(s, DocumentRow.collection_id == cid)
            self._delete_chunks(s, ids)
            s.execute(delete(DocumentRow).where(DocumentRow.collection_id == cid))
            s.execute(delete(CollectionRow).where(CollectionRow.id == cid))
            self._bump(s)
        return ids

    # --- documents ------------------------------------------------------------------------------

    def find_duplicate(self, collection_id: int, sha256: str) -> int | None:
        """The id of a document with this content hash in the collection, if any."""
        with self.session() as s:
            return s.scalar(select(DocumentRow.id).where(
                DocumentRow.collection_id == collection_id, DocumentRow.sha256 == sha256))

    def add_document(self, collection_id: int, doc: LoadedDocument, sha256: str, language: str | None,
                     chunks: list[NewChunk]) -> tuple[int, np.ndarray]:
        """Store a document and all its chunks in one transaction.

        Returns:
            (document id, chunk ids in ordinal order).
        """
        try:
            with self.session() as s, s.begin():
                row = DocumentRow(collection_id=collection_id, sha256=sha256, title=doc.title,
                                  source_name=doc.source_name, mime=doc.mime, language=language,
                                  size=len(doc.text.encode("utf-8")), n_chunks=len(chunks), meta=doc.metadata,
                                  text=doc.text)
                row.chunks = [ChunkRow(**vars(c)) for c in chunks]
                s.add(row)
                s.flush()
                if self.keywords is not None:
                    self.keywords.insert(s.connection(), [(c.id, c.text) for c in row.chunks])
                self._bump(s)
                return row.id, np.array([c.id for c in row.chunks], dtype=np.int64)
        except SQLAlchemyError as e:
            raise StoreError(f"{doc.source_name}: could not be stored ({e.__class__.__name__}: {e})") from e

    def delete_document(self, document_id: int) -> np.ndarray:
        """Delete one document and its chunks.

        Returns:
            The chunk ids removed.

        Raises:
            DocumentNotFoundError: if no such document exists.
        """
        with self.session() as s, s.begin():
            if s.get(DocumentRow, document_id) is None:
                raise DocumentNotFoundError(f"no document with id {document_id}")
            ids = self._chunk_ids_where(s, ChunkRow.document_id == document_id)
            self._delete_chunks(s, ids)
            s.execute(delete(DocumentRow).where(DocumentRow.id == document_id))
            self._bump(s)
        return ids

    def documents(self, collection: str | None = None, limit: int = 50, offset: int = 0,
                  order_by: str = "created_at", descending: bool = False) -> list[DocumentInfo]:
        """A page of documents (without their text).

        Args:
            collection: restrict to this collection.
            limit: page size.
            offset: rows to skip.
            order_by: one of title, language, size, created_at, source_name.
            descending: reverse order.
        """
        if order_by not in SORTABLE:
            raise ValueError(f"cannot sort by {order_by!r}; choose one of {sorted(SORTABLE)}")
        column = SORTABLE[order_by].desc() if descending else SORTABLE[order_by]
        stmt = select(DocumentRow, CollectionRow.name).join(CollectionRow)
        if collection is not None:
            stmt = stmt.where(DocumentRow.collection_id == self.collection_id(collection))
        stmt = stmt.order_by(column, DocumentRow.id).limit(limit).offset(offset)
        with self.session() as s:
            return [_document_info(row, name) for row, name in s.execute(stmt)]

    def count_documents(self, collection: str | None = None) -> int:
        """Number of documents, in one collection or in all."""
        stmt = select(func.count()).select_from(DocumentRow)
        if collection is not None:
            stmt = stmt.where(DocumentRow.collection_id == self.collection_id(collection))
        with self.session() as s:
            return int(s.scalar(stmt) or 0)

    def document(self, document_id: int) -> DocumentInfo:
        """One document with its full text.

        Raises:
            DocumentNotFoundError: if no such document exists.
        """
        with self.session() as s:
            found = s.execute(select(DocumentRow, CollectionRow.name).join(CollectionRow)
                              .where(DocumentRow.id == document_id)).first()
            if found is None:
                raise DocumentNotFoundError(f"no document with id {document_id}")
            return _document_info(found[0], found[1], with_text=True)

    # --- chunks ---------------------------------------------------------------------------------

    def chunks(self, chunk_ids: list[int] | np.ndarray) -> dict[int, ChunkInfo]:
        """Chunks by id, joined with their document and collection (missing ids are left out)."""
        ids = [int(i) for i in chunk_ids]
        stmt = (select(ChunkRow.id, ChunkRow.document_id, ChunkRow.ordinal, ChunkRow.text, ChunkRow.char_start,
                       ChunkRow.char_end, ChunkRow.language, DocumentRow.title, DocumentRow.source_name,
                       DocumentRow.mime, CollectionRow.name, DocumentRow.language)
                .join(DocumentRow, ChunkRow.document_id == DocumentRow.id).join(CollectionRow))
        out: dict[int, ChunkInfo] = {}
        with self.session() as s:
            # SQLite limits the number of bound parameters: fetch in slices.
            for start in range(0, len(ids), 900):
                for row in s.execute(stmt.where(ChunkRow.id.in_(ids[start:start + 900]))):
                    out[row[0]] = ChunkInfo(*row)
        return out

    def document_chunk_ids(self, document_id: int) -> np.ndarray:
        """Chunk ids of one document in ordinal order."""
        with self.session() as s:
            return self._chunk_ids_where(s, ChunkRow.document_id == document_id)

    def chunk_ids(self, collections: list[str] | None = None, languages: list[str] | None = None,
                  mimes: list[str] | None = None) -> np.ndarray:
        """Ids of the chunks that pass the filters (None = no filter), for the ANN's ID selector."""
        stmt = select(ChunkRow.id).join(DocumentRow, ChunkRow.document_id == DocumentRow.id)
        if collections is not None:
            stmt = stmt.join(CollectionRow).where(CollectionRow.name.in_(collections))
        if languages is not None:
            stmt = stmt.where(ChunkRow.language.in_(languages))
        if mimes is not None:
            stmt = stmt.where(DocumentRow.mime.in_(mimes))
        with self.session() as s:
            return np.fromiter(s.scalars(stmt.order_by(ChunkRow.id)), dtype=np.int64)

    def _delete_chunks(self, s: Session, ids: np.ndarray) -> None:
        values = ids.tolist()
        for start in range(0, len(values), 900):
            s.execute(delete(ChunkRow).where(ChunkRow.id.in_(values[start:start + 900])))
        if self.keywords is not None:
            self.keywords.delete(s.connection(), values)

    def keyword_search(self, query: str, k: int, collections: list[str] | None = None,
                       languages: list[str] | None = None, mimes: list[str] | None = None) -> list[tuple[int, float]]:
        """Chunks matching the query's words (BM25), with quoted phrases required.

        Args:
            query: the user's query.
            k: most results.
            collections: only these collections.
            languages: only chunks in these languages.
            mimes: only documents of these types.

        Returns:
            (chunk id, score) pairs, best first; higher scores are better.

        Raises:
            StoreError: when the database has no keyword index (SQLite and PostgreSQL have one).
        """
        if self.keywords is None:
            raise StoreError(f"keyword search needs SQLite or PostgreSQL; the {self.engine.dialect.name} store "
                             "has no keyword index - use dense search")
        with self.engine.connect() as conn:
            filters = {"col.name": collections, "c.language": languages, "d.mime": mimes}
            return self.keywords.search(conn, query, k, filters)

    def language_ids(self, after: int = -1) -> dict[str, np.ndarray]:
        """Chunk ids of each chunk language (sorted), for per-language searches and statistics.

        Args:
            after: only chunks with larger ids (those added since a chunk id was seen).
        """
        with self.session() as s:
            rows = s.execute(select(ChunkRow.language, ChunkRow.id).where(ChunkRow.id > after)
                             .order_by(ChunkRow.id)).all()
        out: dict[str, list[int]] = {}
        for lang, chunk_id in rows:
            out.setdefault(lang or "unknown", []).append(chunk_id)
        return {lang: np.array(ids, dtype=np.int64) for lang, ids in out.items()}

    def _chunk_ids_where(self, s: Session, condition: Any) -> np.ndarray:
        stmt = select(ChunkRow.id).join(DocumentRow, ChunkRow.document_id == DocumentRow.id).where(condition)
        return np.fromiter(s.scalars(stmt.order_by(ChunkRow.id)), dtype=np.int64)

    def iter_vectors(self, batch: int = 20000, after: int = -1) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Stored embeddings of the chunks with ids above ``after``, in id order, as (ids, float32 matrix) batches."""
        # The raw column, decoded a batch at a time: twice as fast as the column type's row-by-row decoding.
        raw = type_coerce(ChunkRow.embedding, LargeBinary)
        last = after
        with self.session() as s:
            while True:
                rows = s.execute(select(ChunkRow.id, raw).where(ChunkRow.id > last)
                                 .order_by(ChunkRow.id).limit(batch)).all()
                if not rows:
                    return
                last = rows[-1][0]
                yield np.array([r[0] for r in rows], dtype=np.int64), vector_codec.decode_many([r[1] for r in rows])

    def iter_chunk_texts(self, batch: int = 2000) -> Iterator[tuple[np.ndarray, list[str]]]:
        """All chunk texts, in id order, as (ids, texts) batches (for re-embedding)."""
        last = -1
        while True:
            with self.session() as s:
                rows = s.execute(select(ChunkRow.id, ChunkRow.text).where(ChunkRow.id > last)
                                 .order_by(ChunkRow.id).limit(batch)).all()
            if not rows:
                return
            last = rows[-1][0]
            yield np.array([r[0] for r in rows], dtype=np.int64), [r[1] for r in rows]

    def update_embeddings(self, chunk_ids: np.ndarray, blobs: list[bytes]) -> None:
        """Replace the embeddings of some chunks (one transaction, bumps the generation)."""
        with self.session() as s, s.begin():
            for chunk_id, blob in zip(chunk_ids.tolist(), blobs):
                s.execute(update(ChunkRow).where(ChunkRow.id == chunk_id).values(embedding=blob))
            self._bump(s)

    def embeddings(self, chunk_ids: list[int] | np.ndarray) -> dict[int, bytes]:
        """Raw embeddings of some chunks."""
        ids = [int(i) for i in chunk_ids]
        out: dict[int, bytes] = {}
        with self.session() as s:
            for start in range(0, len(ids), 900):  # SQLite's bound-parameter limit
                part = ids[start:start + 900]
                out.update(s.execute(select(ChunkRow.id, ChunkRow.embedding).where(ChunkRow.id.in_(part))).all())
        return out

    # --- errors and counts ----------------------------------------------------------------------

    def record_error(self, file_name: str, collection: str, stage: str, message: str) -> None:
        """Remember an ingest failure for the status page."""
        with self.session() as s, s.begin():
            s.add(IngestErrorRow(file_name=file_name, collection=collection, stage=stage, message=message))

    def errors(self, limit: int = 50) -> list[IngestErrorInfo]:
        """The most recent ingest failures, newest first."""
        with self.session() as s:
            rows = s.scalars(select(IngestErrorRow).order_by(IngestErrorRow.id.desc()).limit(limit)).all()
            return [IngestErrorInfo(r.file_name, r.collection, r.stage, r.message, r.created_at) for r in rows]

    def chunk_count(self) -> int:
        """Number of chunks (one count: ``counts`` scans four tables)."""
        with self.session() as s:
            return int(s.scalar(select(func.count()).select_from(ChunkRow)) or 0)

    def has_chunks(self) -> bool:
        """Whether any chunk is stored, without counting them."""
        with self.session() as s:
            return s.scalar(select(ChunkRow.id).limit(1)) is not None

    def counts(self) -> dict[str, int]:
        """Numbers of collections, documents, chunks and recorded errors."""
        with self.session() as s:
            return {name: int(s.scalar(select(func.count()).select_from(table)) or 0) for name, table in
                    (("collections", CollectionRow), ("documents", DocumentRow), ("chunks", ChunkRow),
                     ("errors", IngestErrorRow))}


def _document_info(row: DocumentRow, collection: str, with_text: bool = False) -> DocumentInfo:
    return DocumentInfo(row.id, collection, row.title, row.source_name, row.mime, row.language, row.size,
                        row.n_chunks, row.created_at, dict(row.meta or {}), row.text if with_text else None)

