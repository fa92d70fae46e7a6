"""The babelsearch command line: the same service as the web UI, for scripts and large batches."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

from app.rerank import stance_of
from app.service import SearchService
from indexer.config import load_settings
from indexer.errors import BabelSearchError

logger = logging.getLogger(__name__)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="babelsearch", description="Cross-language semantic search.")
    p.add_argument("--home", help="data directory (default: $BABELSEARCH_HOME or data/index)")
    p.add_argument("--model", help="embedding model: builtin:multilingual-e5-small, a model id or a directory")
    p.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = p.add_subparsers(dest="command", required=True)

    ing = sub.add_parser("ingest", help="add files or folders to a collection")
    ing.add_argument("paths", nargs="+", type=Path)
    ing.add_argument("--collection", required=True)
    ing.add_argument("--text-field", help="CSV column / JSONL key holding the text (default: text)")
    ing.add_argument("--json", action="store_true", help="print the report as JSON")
    ing.add_argument("--background", action="store_true",
                     help="enqueue a job for `babelsearch worker` and print its id at once")

    wk = sub.add_parser("worker", help="run queued ingest jobs until interrupted (Ctrl-C finishes the current ones)")
    wk.add_argument("--concurrency", type=int, default=1, help="jobs run at once (threads sharing one model)")

    jb = sub.add_parser("jobs", help="list ingest jobs; `jobs show ID` prints a report, `jobs cancel ID` stops one")
    jb.add_argument("action", nargs="?", choices=["list", "show", "cancel"], default="list")
    jb.add_argument("job_id", nargs="?", type=int)
    jb.add_argument("--limit", type=int, default=50)
    jb.add_argument("--json", action="store_true")

    se = sub.add_parser("search", help="search in any language")
    se.add_argument("query", nargs="?")
    se.add_argument("--queries-file", type=Path, help="one query per line; the model is loaded once")
    se.add_argument("--k", type=int, default=10)
    se.add_argument("--collection", action="append", help="only this collection (repeatable)")
    se.add_argument("--lang", action="append", help="only passages in this language code (repeatable)")
    se.add_argument("--balanced", action="store_true", help="cover the languages present, not only the query's")
    se.add_argument("--hybrid", action="store_true", help="fuse keyword and vector search; quoted phrases must match")
    se.add_argument("--other-languages", action="store_true", help="leave out passages in the query's language")
    se.add_argument("--rerank", action="store_true", help="reorder with the NLI model; adds stance and probabilities")
    se.add_argument("--stance", action="store_true", help="add the NLI stance without reordering")
    se.add_argument("--json", action="store_true")
    se.add_argument("--export", type=Path, help="also write the results to FILE.csv or FILE.json")

    si = sub.add_parser("similar", help="passages like a document's, across languages")
    si.add_argument("--document", type=int, required=True)
    si.add_argument("--k", type=int, default=10)
    si.add_argument("--plain", action="store_true", help="plain ranking instead of language-balanced")
    si.add_argument("--json", action="store_true")

    nli = sub.add_parser("nli", help="label premise<TAB>hypothesis pairs: entailment / neutral / contradiction, "
                         "and the stance shown (unclear when not confident)")
    nli.add_argument("pairs", type=Path, nargs="?", help="a TSV file, one 'premise<TAB>hypothesis' pair per line")
    nli.add_argument("--prepare", action="store_true",
                     help="only load the model (the built-in one is exported to ONNX Runtime once, on first use)")
    nli.add_argument("--json", action="store_true")

    sub.add_parser("collections", help="list collections").add_argument("--json", action="store_true")
    docs = sub.add_parser("documents", help="list the documents of a collection")
    docs.add_argument("--collection")
    docs.add_argument("--limit", type=int, default=100)
    docs.add_argument("--offset", type=int, default=0)
    docs.add_argument("--json", action="store_true")

    de = sub.add_parser("delete", help="delete a collection or one of its documents")
    de.add_argument("--collection", required=True)
    de.add_argument("--document", type=int, help="document id (see `babelsearch documents`)")

    sub.add_parser("stats", help="counts, model and index facts").add_argument("--json", action="store_true")
    re = sub.add_parser("reindex", help="rebuild the vector index from the stored embeddings")
    re.add_argument("--reembed", action="store_true", help="embed every chunk again with the configured model")
    mv = sub.add_parser("migrate-vectors", help="move the vectors to another backend (e.g. Milvus), verify them "
                        "and switch to it (see docs/scaling.md)")
    mv.add_argument("--to", required=True, metavar="BACKEND", help="milvus, faiss or numpy")
    mv.add_argument("--uri", help="Milvus server URL or Milvus Lite file (default: milvus_uri)")
    mv.add_argument("--collection", help="Milvus collection (default: milvus_collection)")
    mv.add_argument("--index-type", help="Milvus index: FLAT, HNSW, IVF_FLAT or AUTOINDEX (default: milvus_index)")
    mv.add_argument("--json", action="store_true")
    db = sub.add_parser("db", help="the database schema: `db current` shows its revision, `db upgrade` migrates it "
                        "(opening the index migrates too)")
    db.add_argument("action", choices=["current", "upgrade"])
    db.add_argument("--json", action="store_true")
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the CLI.

    Args:
        argv: arguments (default: sys.argv[1:]).

    Returns:
        The exit code: 0 on success, 1 on a user or data error, 2 on bad usage.
    """
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(message)s")
    try:
        settings = load_settings(args.home, model=args.model, csv_text_field=getattr(args, "text_field", None))
        if args.command == "db":  # without the service: opening it would migrate before `db current` looks
            return cmd_db(settings.database_url, args)
        service = SearchService(settings)
        try:
            return COMMANDS[args.command](service, args)
        finally:
            service.close()
    except (BabelSearchError, ValueError, OSError) as e:
        print(f"babelsearch: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("babelsearch: interrupted; everything committed so far is kept", file=sys.stderr)
        return 130


def _print_json(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, default=str))


def cmd_ingest(service: SearchService, args: argparse.Namespace) -> int:
    """``babelsearch ingest``."""
    missing = [str(p) for p in args.paths if not p.exists()]
    if missing:
        raise BabelSearchError(f"no such file or folder: {', '.join(missing)}")
    if args.background:
        job_id = service.enqueue_paths(args.paths, args.collection)
        job = service.job(job_id)
        if args.json:
            _print_json({"job_id": job_id, "state": job.state, "files": job.files_total})
        else:
            print(f"job {job_id} queued: {job.files_total} files for {args.collection}; "
                  f"follow it with `babelsearch jobs show {job_id}`")
        return 0
    from tqdm import tqdm

    bar = tqdm(unit="file", disable=args.json or not sys.stderr.isatty() and "CI" in os.environ, file=sys.stderr)

    def progress(event: Any) -> None:
        bar.total = event.files_total
        bar.n = event.files_done
        bar.set_postfix_str(f"{event.stage} {event.current[:40]} chunks={event.chunks_done}", refresh=True)

    report = service.ingest(args.paths, args.collection, progress)
    bar.close()
    if args.json:
        _print_json({"collection": report.collection, "files": [vars(f) for f in report.files],
                     "timings": dict(report.timings)})
    else:
        print(f"{args.collection}: {report.summary()}")
        for f in report.failed:
            print(f"  failed: {f.source_name}: {f.message}")
        for f in report.duplicates:
            print(f"  duplicate: {f.source_name} (already in the collection)")
    return 1 if report.files and len(report.failed) == len(report.files) else 0


def cmd_search(service: SearchService, args: argparse.Namespace) -> int:
    """``babelsearch search``."""
    if (args.query is None) == (args.queries_file is None):
        raise BabelSearchError("give either a QUERY or --queries-file, not both or neither")
    if args.queries_file:
        text = args.queries_file.read_text(encoding="utf-8")
        queries = [line.strip() for line in text.splitlines() if line.strip()]
        if not queries:
            raise BabelSearchError(f"{args.queries_file}: no queries (one per line)")
    else:
        queries = [args.query]
    if args.export and args.export.suffix not in (".csv", ".json"):
        raise BabelSearchError(f"{args.export}: export to a .csv or .json file")
    responses = service.search_many(queries, args.k, args.collection, args.lang, balanced=args.balanced,
                                    hybrid=args.hybrid, other_languages=args.other_languages, rerank=args.rerank,
                                    stance=args.stance)
    if args.export:
        from app.export import to_csv, to_json

        args.export.write_text((to_csv if args.export.suffix == ".csv" else to_json)(responses), encoding="utf-8")
    for response in responses:
        if args.json and args.queries_file:
            _print_json({"query": response.query, "results": [r.to_dict() for r in response.results]})
        elif args.json:
            _print_json([r.to_dict() for r in response.results])
        else:
            _print_results(response)
    return 0


def cmd_similar(service: SearchService, args: argparse.Namespace) -> int:
    """``babelsearch similar``."""
    response = service.similar(args.document, args.k, balanced=not args.plain)
    if args.json:
        _print_json([r.to_dict() for r in response.results])
    else:
        _print_results(response)
    return 0


def cmd_nli(service: SearchService, args: argparse.Namespace) -> int:
    """``babelsearch nli``."""
    if args.prepare:
        nli = service.nli
        print(f"{nli.name} ready ({getattr(nli, 'quant', 'torch')}); badges from p >= {nli.badge_threshold:.2f}")
        return 0
    if args.pairs is None:
        raise BabelSearchError("babelsearch nli: give a TSV file of 'premise<TAB>hypothesis' lines, or --prepare")
    pairs = []
    for n, line in enumerate(args.pairs.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) != 2 or not all(p.strip() for p in parts):
            raise BabelSearchError(f"{args.pairs}: line {n}: expected 'premise<TAB>hypothesis'")
        pairs.append((parts[0].strip(), parts[1].strip()))
    if not pairs:
        raise BabelSearchError(f"{args.pairs}: no pairs")
    probs = service.nli.predict([p for p, _ in pairs], [h for _, h in pairs])
    labels, threshold = service.nli.labels, service.nli.badge_threshold
    for (premise, hypothesis), row in zip(pairs, probs):
        label, stance = labels[int(row.argmax())], stance_of(row, threshold)
        if args.json:
            _print_json({"premise": premise, "hypothesis": hypothesis, "label": label, "stance": stance,
                         "p_entail": round(float(row[0]), 4), "p_neutral": round(float(row[1]), 4),
                         "p_contradict": round(float(row[2]), 4)})
        else:
            print(f"{label}\t{stance}\t{row[0]:.3f}\t{row[1]:.3f}\t{row[2]:.3f}")
    return 0


def _print_results(response: Any) -> None:
    print(f"# {response.query}  ({len(response.results)} results, {response.elapsed_ms:.0f} ms)")
    if response.language_counts:
        facets = ", ".join(f"{k}:{v}" for k, v in sorted(response.language_counts.items(), key=lambda kv: -kv[1]))
        print(f"  relevant passages per language: {facets}")
    for r in response.results:
        snippet = " ".join(r.text.split())[:160]
        stance = f" {r.stance}" if r.stance else ""
        where = f"{r.collection}/{r.source_name}" + (f", p. {r.page}" if r.page is not None else "")
        print(f"{r.rank:>3}. {r.score:.3f}{stance} [{r.language or '?'}] {r.title} ({where})")
        print(f"     {snippet}")


def cmd_collections(service: SearchService, args: argparse.Namespace) -> int:
    """``babelsearch collections``."""
    rows = service.collections()
    if args.json:
        _print_json([vars(c) for c in rows])
    for c in [] if args.json else rows:
        langs = ", ".join(f"{k}:{v}" for k, v in sorted(c.languages.items(), key=lambda kv: -kv[1]))
        print(f"{c.name}\t{c.n_documents} documents\t{c.n_chunks} chunks\t{langs}")
    return 0


def cmd_documents(service: SearchService, args: argparse.Namespace) -> int:
    """``babelsearch documents``."""
    rows = service.documents(args.collection, args.limit, args.offset)
    if args.json:
        _print_json([vars(d) for d in rows])
    for d in [] if args.json else rows:
        print(f"{d.id}\t{d.language or '?'}\t{d.n_chunks} chunks\t{d.collection}\t{d.source_name}\t{d.title}")
    return 0


def cmd_delete(service: SearchService, args: argparse.Namespace) -> int:
    """``babelsearch delete``."""
    if args.document is not None:
        doc = service.document(args.document)
        if doc.collection != args.collection:
            raise BabelSearchError(f"document {args.document} is in collection {doc.collection!r}, "
                                   f"not {args.collection!r}")
        n = service.delete_document(args.document)
        print(f"deleted document {args.document} ({doc.source_name}, {n} chunks)")
    else:
        n = service.delete_collection(args.collection)
        print(f"deleted collection {args.collection} ({n} chunks)")
    return 0


def cmd_stats(service: SearchService, args: argparse.Namespace) -> int:
    """``babelsearch stats``."""
    stats = service.stats().to_dict()
    if args.json:
        _print_json(stats)
    else:
        for key, value in stats.items():
            print(f"{key:12} {value}")
    return 0


def cmd_db(url: str, args: argparse.Namespace) -> int:
    """``babelsearch db current`` and ``babelsearch db upgrade``."""
    from sqlalchemy.engine import make_url

    from indexer.store import migrate

    shown = make_url(url).render_as_string(hide_password=True)
    if args.action == "upgrade":
        before, after = migrate.upgrade_database(url)
        report = {"database": shown, "before": before, "after": after, "migrated": before != after}
        line = f"migrated from {before or 'no schema'} to {after}" if before != after else f"already at {after}"
    else:
        state = migrate.database_state(url)
        pending = state.pending if state else migrate.revisions()[::-1]
        report = {"database": shown, "exists": state is not None, "current": state.current if state else None,
                  "head": migrate.HEAD, "pending": pending}
        if state and state.newer:
            todo = "written by a newer Babel Search - upgrade Babel Search to open it"
        else:
            todo = f"{len(pending)} to apply ({', '.join(pending)}); run `babelsearch db upgrade`" if pending else \
                "up to date"
        line = f"revision {report['current'] or 'none'}, head {migrate.HEAD}: {todo}"
    if args.json:
        _print_json(report)
    else:
        print(f"{shown}: {line}")
    return 0


def cmd_reindex(service: SearchService, args: argparse.Namespace) -> int:
    """``babelsearch reindex``."""
    n = service.reindex(args.reembed)
    print(f"vector index rebuilt: {n} vectors")
    return 0


def cmd_migrate_vectors(service: SearchService, args: argparse.Namespace) -> int:
    """``babelsearch migrate-vectors --to milvus``."""
    moved = service.migrate_vectors(args.to, milvus_uri=args.uri, milvus_collection=args.collection,
                                    milvus_index=args.index_type)
    if args.json:
        _print_json(moved.to_dict())
    else:
        print(f"moved {moved.target_count} vectors from {moved.source} to {moved.target} (database: {moved.stored}, "
              f"old index: {moved.source_count}; {moved.spot_checked} found themselves in the new one)")
        print(f"{moved.settings_file} now sets ann_backend={moved.target}; set the same on every other machine")
    return 0


def cmd_worker(service: SearchService, args: argparse.Namespace) -> int:
    """``babelsearch worker``."""
    service.run_worker(args.concurrency)
    return 0


def cmd_jobs(service: SearchService, args: argparse.Namespace) -> int:
    """``babelsearch jobs [show|cancel] [ID]``."""
    if args.action != "list" and args.job_id is None:
        raise BabelSearchError(f"`jobs {args.action}` needs a job id; `babelsearch jobs` lists them")
    if args.action == "list":
        jobs = service.jobs(args.limit)
        if args.json:
            _print_json([vars(j) for j in jobs])
        for j in [] if args.json else jobs:
            print(f"{j.id}\t{j.state}\t{j.collection}\t{j.files_done}/{j.files_total} files\t{j.chunks_done} chunks"
                  f"\t{j.created_at:%Y-%m-%d %H:%M}")
        return 0
    job = service.cancel_job(args.job_id) if args.action == "cancel" else service.job(args.job_id)
    if args.json:
        _print_json(vars(job) | {"files": [vars(f) for f in job.files]})
    else:
        _print_job(job)
    return 0


def _print_job(job: Any) -> None:
    print(f"job {job.id}: {job.state}{' (stop requested)' if job.cancel_requested and not job.finished else ''}"
          f" · {job.collection} · {job.files_done}/{job.files_total} files · {job.chunks_done} chunks")
    if job.state == "running":
        eta = f", about {job.eta_s:.0f} s left" if job.eta_s is not None else ""
        print(f"  now: {job.current_file} · {job.chunks_per_s:.1f} chunks/s{eta}")
    if job.error:
        print(f"  error: {job.error}")
    for f in job.files:
        reason = f" · {f.reason}" if f.reason else ""
        counts = f"{f.documents} documents, {f.chunks} chunks, {f.seconds:.2f} s"
        print(f"  {f.status:9} {f.display_name} · {counts}{reason}")


COMMANDS = {"ingest": cmd_ingest, "search": cmd_search, "similar": cmd_similar, "nli": cmd_nli,
            "collections": cmd_collections, "documents": cmd_documents, "delete": cmd_delete, "stats": cmd_stats,
            "reindex": cmd_reindex, "migrate-vectors": cmd_migrate_vectors, "worker": cmd_worker, "jobs": cmd_jobs}

if __name__ == "__main__":
    sys.exit(main())
