"""A stand-in for SearchService with canned data, for page tests without a model."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from pathlib import Path

from app.claims import is_claim
from app.results import IndexStats, SearchResponse, SearchResult, highlight_spans
from app.service import JobFileInfo, JobInfo, JobNotFoundError, QueryError
from indexer.errors import CollectionNotFoundError, DocumentNotFoundError, ModelUnavailableError
from indexer.report import FileResult, IngestReport, Progress
from indexer.store.records import CollectionInfo, DocumentInfo, IngestErrorInfo

WHEN = datetime(2026, 3, 1, 12, 30)
TRICKY = "Alarm <script>alert(1)</script> **bold** [link](x) $math$ :red[x] after the flood."
TEXTS = {
    1: ("Hochwasser", "hochwasser.txt", "de", "Das Hochwasser überflutete die Altstadt am Montag."),
    2: ("فيضان", "fayadan.md", "ar", "غمرت مياه الفيضان وسط المدينة يوم الاثنين."),
    3: ("<b>Tricky</b>", "tricky <i>.txt", "en", TRICKY),
}
#: The keyword options of SearchService.search.
OPTIONS = ("balanced", "hybrid", "other_languages", "rerank", "stance")
#: Relevant passages per language (the fake's language facets).
FACETS = {"de": 4, "ar": 2, "en": 1}
#: The fake NLI verdict per document: (stance, p_entail, p_neutral, p_contradict).
STANCES = {1: ("supports", 0.91, 0.06, 0.03), 2: ("contradicts", 0.02, 0.01, 0.97), 3: ("neutral", 0.1, 0.8, 0.1)}


def _with_stance(result: SearchResult) -> SearchResult:
    stance, p_entail, p_neutral, p_contradict = STANCES[result.document_id]
    return replace(result, stance=stance, p_entail=p_entail, p_neutral=p_neutral, p_contradict=p_contradict,
                   rerank_score=result.score + 0.05 * (p_entail + p_contradict))  # fmt: skip


class FakeService:
    """Answers like SearchService over three documents in one collection; records the calls it gets."""

    def __init__(self, empty: bool = False, docs: dict[int, tuple[str, str, str, str]] | None = None,
                 nli_available: bool = True):  # fmt: skip
        self.docs = {} if empty else dict(TEXTS if docs is None else docs)
        self.nli_available = nli_available
        self.calls: list[tuple[str, tuple, dict]] = []
        self.jobs_made: dict[int, JobInfo] = {}

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
        **options: bool,
    ) -> SearchResponse:
        unknown = set(options) - set(OPTIONS)
        assert not unknown, f"SearchService.search has no option {unknown}"
        flags = {name: options.get(name, False) for name in OPTIONS}
        self.calls.append(
            ("search", (query,), {"k": k, "collections": collections, "languages": languages, "mimes": mimes, **flags})
        )
        if not query.strip():
            raise QueryError("the query is empty")
        if collections and "news" not in collections:
            raise CollectionNotFoundError(f"no collection {collections[0]!r}")
        if (flags["rerank"] or flags["stance"]) and not self.nli_available:
            raise ModelUnavailableError("The NLI model has no weights yet: train it with `babelsearch nli train`.")
        matching = [
            doc_id
            for doc_id, (_, _, lang, _) in self.docs.items()
            if (languages is None or lang in languages) and (mimes is None or "text/plain" in mimes)
        ]
        results = [self._result(n + 1, doc_id, query) for n, doc_id in enumerate(matching)]
        if flags["rerank"] or flags["stance"]:
            results = [_with_stance(r) for r in results]
        if flags["rerank"] and is_claim(query):  # the fake's NLI order for claims: the most decided passage first
            results.sort(key=lambda r: -max(r.p_entail, r.p_contradict))
            for n, r in enumerate(results):
                r.rank = n + 1
        counts = {lang: FACETS[lang] for lang in {self.docs[i][2] for i in matching}}
        return SearchResponse(query, results[:k], 12.5, "en", counts, {"k": k, **flags})

    def similar(self, document_id: int, k: int = 10, balanced: bool = True) -> SearchResponse:
        self.calls.append(("similar", (document_id,), {"k": k, "balanced": balanced}))
        if document_id not in self.docs:
            raise DocumentNotFoundError(f"no document with id {document_id}")
        others = [i for i in self.docs if i != document_id]
        results = [self._result(n + 1, doc_id, "") for n, doc_id in enumerate(others)]
        counts = {self.docs[i][2]: FACETS[self.docs[i][2]] for i in others}
        return SearchResponse(self.docs[document_id][0], results[:k], 8.0, self.docs[document_id][2], counts, {})

    def _result(self, rank: int, doc_id: int, query: str) -> SearchResult:
        title, name, lang, body = self.docs[doc_id]
        return SearchResult(
            rank, 0.9 - 0.1 * doc_id, body, name, title, lang, "news", doc_id, doc_id, 0, len(body), "text/plain",
            highlight_spans(body, query),
        )  # fmt: skip

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

    def enqueue_upload(self, files, collection: str) -> int:
        """Reads every stream (as the spool does) and makes a finished job with a canned per-file report."""
        received = [(name, stream.read()) for name, stream in files]
        self.calls.append(("enqueue_upload", (received, collection), {}))
        job_id = len(self.jobs_made) + 1
        rows = [
            JobFileInfo(n, name, f"{n:05d}", len(data), *(("failed", "cannot read") if name.endswith(".pdf")
                        else ("added", "")), documents=int(not name.endswith(".pdf")), chunks=2, seconds=0.5)
            for n, (name, data) in enumerate(received)
        ]  # fmt: skip
        self.jobs_made[job_id] = _job(job_id, collection, "done", rows)
        return job_id

    def jobs(self, limit: int = 50) -> list[JobInfo]:
        return [replace(j, files=[]) for j in sorted(self.jobs_made.values(), key=lambda j: -j.id)][:limit]

    def job(self, job_id: int) -> JobInfo:
        if job_id not in self.jobs_made:
            raise JobNotFoundError(f"no job with id {job_id}")
        return self.jobs_made[job_id]

    def cancel_job(self, job_id: int) -> JobInfo:
        self.calls.append(("cancel_job", (job_id,), {}))
        job = self.job(job_id)
        self.jobs_made[job_id] = replace(job, cancel_requested=True)
        return self.jobs_made[job_id]

    def delete_document(self, document_id: int) -> int:
        self.calls.append(("delete_document", (document_id,), {}))
        del self.docs[document_id]
        return 1

    def delete_collection(self, name: str) -> int:
        self.calls.append(("delete_collection", (name,), {}))
        removed, self.docs = len(self.docs), {}
        return removed


def _job(job_id: int, collection: str, state: str, files: list[JobFileInfo], current: str = "") -> JobInfo:
    """A job as the service reports it."""
    done = sum(f.status != "pending" for f in files)
    return JobInfo(
        job_id, state, collection, {}, WHEN, WHEN, WHEN if state in ("done", "failed", "cancelled") else None,
        "host:1", 1, False, "", len(files), done, sum(f.size for f in files),
        sum(f.size for f in files if f.status != "pending"), sum(f.chunks for f in files), current, 12.5,
        30.0 if state == "running" else None, 0.0, files,
    )  # fmt: skip


def running_job(job_id: int = 7) -> JobInfo:
    """A job half done, reading a file whose name is full of markup."""
    files = [JobFileInfo(0, "a.txt", "00000.txt", 10, "added", documents=1, chunks=3, seconds=0.2),
             JobFileInfo(1, "<b>evil</b> **x**.txt", "00001.txt", 10, "pending")]  # fmt: skip
    return _job(job_id, "news <i>", "running", files, current="<b>evil</b> **x**.txt")


def queued_job(job_id: int = 3) -> JobInfo:
    """A job that no worker has taken since ``WHEN``."""
    return _job(job_id, "news", "queued", [JobFileInfo(0, "a.txt", "00000.txt", 10, "pending")])
