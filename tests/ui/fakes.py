"""A stand-in for SearchService with canned data, for page tests without a model."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from app.results import IndexStats, SearchResponse, SearchResult, highlight_spans
from app.service import QueryError
from indexer.errors import CollectionNotFoundError, DocumentNotFoundError
from indexer.report import FileResult, IngestReport, Progress
from indexer.store.records import CollectionInfo, DocumentInfo, IngestErrorInfo

WHEN = datetime(2026, 3, 1, 12, 30)
TRICKY = "Alarm <script>alert(1)</script> **bold** [link](x) $math$ :red[x] after the flood."
TEXTS = {
    1: ("Hochwasser", "hochwasser.txt", "de", "Das Hochwasser überflutete die Altstadt am Montag."),
    2: ("فيضان", "fayadan.md", "ar", "غمرت مياه الفيضان وسط المدينة يوم الاثنين."),
    3: ("<b>Tricky</b>", "tricky <i>.txt", "en", TRICKY),
}


class FakeService:
    """Answers like SearchService over three documents in one collection; records the calls it gets."""

    def __init__(self, empty: bool = False):
        self.docs = {} if empty else dict(TEXTS)
        self.calls: list[tuple[str, tuple, dict]] = []

    def collections(self) -> list[CollectionInfo]:
        if not self.docs:
            return []
        langs: dict[str, int] = {}
        for _, _, lang, _ in self.docs.values():
            langs[lang] = langs.get(lang, 0) + 1
        return [CollectionInfo(1, "news", "", WHEN, len(self.docs), len(self.docs), langs)]

    def _info(self, doc_id: int, text: bool = False) -> DocumentInfo:
        title, name, lang, body = self.docs[doc_id]
        return DocumentInfo(
            doc_id, "news", title, name, "text/plain", lang, len(body.encode()), 1, WHEN, {}, body if text else None
        )

    def documents(
        self,
        collection: str | None = None,
        limit: int = 50,
        offset: int = 0,
        order_by: str = "created_at",
        descending: bool = False,
    ) -> list[DocumentInfo]:
        self.calls.append(("documents", (collection, limit, offset, order_by, descending), {}))
        return [self._info(i) for i in sorted(self.docs)][offset : offset + limit]

    def count_documents(self, collection: str | None = None) -> int:
        return len(self.docs)

    def document(self, document_id: int) -> DocumentInfo:
        if document_id not in self.docs:
            raise DocumentNotFoundError(f"no document with id {document_id}")
        return self._info(document_id, text=True)

    def search(
        self,
        query: str,
        k: int = 10,
        collections: list[str] | None = None,
        languages: list[str] | None = None,
        mimes: list[str] | None = None,
    ) -> SearchResponse:
        self.calls.append(
            ("search", (query,), {"k": k, "collections": collections, "languages": languages, "mimes": mimes})
        )
        if not query.strip():
            raise QueryError("the query is empty")
        if collections and "news" not in collections:
            raise CollectionNotFoundError(f"no collection {collections[0]!r}")
        results = []
        for doc_id, (title, name, lang, body) in self.docs.items():
            if (languages is None or lang in languages) and (mimes is None or "text/plain" in mimes):
                results.append(
                    SearchResult(
                        len(results) + 1,
                        0.9 - 0.1 * doc_id,
                        body,
                        name,
                        title,
                        lang,
                        "news",
                        doc_id,
                        doc_id,
                        0,
                        len(body),
                        "text/plain",
                        highlight_spans(body, query),
                    )
                )
        return SearchResponse(query, results[:k], 12.5, "en")

    def errors(self, limit: int = 50) -> list[IngestErrorInfo]:
        return [IngestErrorInfo("broken <b>.pdf", "news", "load", "not a PDF file", WHEN)]

    def stats(self) -> IndexStats:
        n = len(self.docs)
        return IndexStats(
            1 if n else 0,
            n,
            n,
            n,
            "builtin:multilingual-e5-small",
            "abc123",
            384,
            "faiss",
            "sqlite:///tmp/x.db",
            "/tmp/home",
            1,
        )

    def ingest_files(self, files: list[tuple[Path, str]], collection: str, progress=None) -> IngestReport:
        self.calls.append(
            ("ingest_files", ([(Path(p).name, Path(p).read_bytes(), n) for p, n in files], collection), {})
        )
        report = IngestReport(collection)
        for n, (_, name) in enumerate(files):
            if progress:
                progress(Progress(n, len(files), name, "load"))
            report.files.append(
                FileResult(name, "failed", message="cannot read")
                if name.endswith(".pdf")
                else FileResult(name, "added", documents=1, chunks=1)
            )
        return report

    def delete_document(self, document_id: int) -> int:
        self.calls.append(("delete_document", (document_id,), {}))
        del self.docs[document_id]
        return 1

    def delete_collection(self, name: str) -> int:
        self.calls.append(("delete_collection", (name,), {}))
        removed, self.docs = len(self.docs), {}
        return removed
