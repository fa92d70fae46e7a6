"""The loader worker process: reads load requests as JSON lines on stdin, answers each on stdout.

Started by ``indexer.loaders.isolate`` as ``python -m indexer.loaders.worker '<limits JSON>'``. It
imports only the loaders (no model, no store), limits its own address space, and loads one file at
a time; a request it cannot answer in time is the parent's to kill.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from dataclasses import asdict
from functools import partial
from pathlib import Path
from typing import IO, Any

from indexer.errors import LoaderError, UnsupportedFileTypeError
from indexer.loaders import load_file
from indexer.loaders.archive import skipped_note
from indexer.loaders.limits import LoadLimits, cap_text
from indexer.loaders.ocr import PageCallback, ocr_note

logger = logging.getLogger(__name__)
_MB = 1024 * 1024


class _Collect(logging.Handler):
    """Keeps the warnings of one request, to be logged again by the parent."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def limit_memory(memory_mb: int) -> None:
    """Cap this process's address space, so an allocation past it raises MemoryError instead of growing.

    Args:
        memory_mb: the cap in MB; 0 or less leaves it unlimited.
    """
    if memory_mb <= 0:
        return
    try:
        import resource
    except ImportError:  # not on POSIX: the wall-clock limit still applies
        logger.warning("no memory limit for loaders on this platform")
        return
    resource.setrlimit(resource.RLIMIT_AS, (memory_mb * _MB, memory_mb * _MB))


def answer(
    request: dict[str, Any], limits: LoadLimits, collect: _Collect, on_page: PageCallback | None = None
) -> tuple[dict[str, Any], bool]:
    """Load the file a request names.

    Args:
        request: ``path``, ``source_name``, ``text_field`` and ``max_bytes``.
        limits: the bounds.
        collect: the handler gathering this request's warnings.
        on_page: called before each page read by OCR.

    Returns:
        The response, and whether this worker must exit after sending it (its memory ran out).
    """
    name = request["source_name"]
    try:
        path = Path(request["path"])
        documents = load_file(path, name, request["text_field"], request["max_bytes"], limits, on_page)
        notes = [ocr_note(documents), skipped_note(documents)]
        documents, cut = cap_text(documents, limits.max_text_chars)
        note = "; ".join(n for n in (cut, *notes) if n)
        response = {"documents": [asdict(doc) for doc in documents], "note": note}
        return response | {"logs": collect.messages}, False
    except UnsupportedFileTypeError as e:
        return {"error": e.reason, "unsupported": True, "logs": collect.messages}, False
    except LoaderError as e:
        return {"error": e.reason, "logs": collect.messages}, False
    except MemoryError:
        reason = f"needs more memory than the loader limit of {limits.load_memory_mb:,} MB (load_memory_mb)"
        return {"error": reason, "logs": collect.messages, "exit": True}, True


def serve(limits: LoadLimits, requests: IO[str], responses: IO[str]) -> None:
    """Answer requests until stdin closes (the parent is gone) or memory runs out.

    Args:
        limits: the bounds.
        requests: JSON lines in.
        responses: JSON lines out, one per request.
    """
    root = logging.getLogger()
    responses.write("ready\n")
    responses.flush()
    for line in requests:
        collect = _Collect()
        root.addHandler(collect)
        try:
            response, done = answer(json.loads(line), limits, collect, partial(_progress, responses))
        finally:
            root.removeHandler(collect)
        try:
            # ASCII JSON: lone surrogates (undecodable file names, "\\ud800" in a JSON line) survive the trip.
            payload = json.dumps(response, default=str)
        except MemoryError:
            reason = f"needs more memory than the loader limit of {limits.load_memory_mb:,} MB to send its text"
            payload, done = json.dumps({"error": reason, "exit": True}), True
        responses.write(payload + "\n")
        responses.flush()
        if done:
            return


def _progress(responses: IO[str], source_name: str, page: int, pages: int) -> None:
    # A line before the answer: the parent reports it and gives the file another page's worth of time.
    responses.write(json.dumps({"progress": {"source_name": source_name, "page": page, "pages": pages}}) + "\n")
    responses.flush()


def main() -> None:
    """Entry point: limits from the first argument, requests on stdin."""
    limits = LoadLimits(**json.loads(sys.argv[1]))
    logging.basicConfig(level=logging.WARNING, format="loader worker: %(levelname)s %(message)s")
    # Answers go out on a private copy of stdout; anything a library prints lands on stderr instead.
    responses = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="ascii")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    limit_memory(limits.load_memory_mb)
    serve(limits, sys.stdin, responses)


if __name__ == "__main__":
    main()
