"""Files loaded in a worker process under time and memory limits: no file can hang, exhaust or break an ingest."""

from __future__ import annotations

import json
import logging
import os
import select
import signal
import subprocess
import sys
import threading
import time
import weakref
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

import indexer
from indexer.errors import LoaderError, UnsupportedFileTypeError
from indexer.loaders.limits import LoadLimits, check_regular_file
from indexer.loaders.ocr import PageCallback
from indexer.types import LoadedDocument

logger = logging.getLogger(__name__)

#: Seconds a new worker may take to import the parsers and say it is ready.
START_TIMEOUT_S = 60.0
#: Seconds added to a page's OCR time bound for decoding its image and the text's way back.
PAGE_SLACK_S = 10.0
_READY = b"ready"


def limits_from(settings: Any) -> LoadLimits:
    """The loader bounds of a ``Settings`` (its fields of the same names).

    Args:
        settings: resolved settings.

    Returns:
        The bounds.
    """
    return LoadLimits(**{f.name: getattr(settings, f.name) for f in fields(LoadLimits)})


class LoaderWorker:
    """Loads files in one child process, reused across files; killed and restarted when a file overruns.

    The child is a fresh interpreter (``python -m indexer.loaders.worker``) that imports only the
    parsers and caps its own address space. Requests and answers are JSON lines over pipes.

    Args:
        limits: time, memory, text and parser bounds.
        text_field: column (CSV) or key (JSONL) holding each row's text.
        max_bytes: refuse files larger than this; None means no limit.
        worker_module: the module run as the worker (tests substitute one whose loaders misbehave).
    """

    def __init__(
        self,
        limits: LoadLimits | None = None,
        text_field: str = "text",
        max_bytes: int | None = None,
        worker_module: str = "indexer.loaders.worker",
    ):
        self.limits = limits or LoadLimits()
        self.text_field = text_field
        self.max_bytes = max_bytes
        self.worker_module = worker_module
        self._proc: subprocess.Popen[bytes] | None = None
        self._buffer = b""
        self._ready = False
        self._lock = threading.Lock()
        #: Workers started so far (1 while no file has overrun a limit).
        self.starts = 0

    def start(self) -> None:
        """Start the worker now, so that its imports overlap with the caller's own setup."""
        with self._lock:
            self._ensure(wait_ready=False)

    def load(
        self, path: Path, source_name: str, on_page: PageCallback | None = None
    ) -> tuple[list[LoadedDocument], str]:
        """Load one file in the worker.

        The file has ``load_timeout_s``; each page the worker starts to read by OCR extends that to at least
        ``ocr_page_timeout_s`` (and a little) from then, so a long scan is bounded page by page.

        Args:
            path: the file; never opened here unless it is a regular file.
            source_name: the original file name, for display and type detection.
            on_page: called before each page read by OCR, with (display name, page number, pages).

        Returns:
            The documents, and a note for the report ("" or why the text was truncated).

        Raises:
            UnsupportedFileTypeError: if the extension has no loader.
            LoaderError: naming the reason: the loader's own, a time or memory overrun, or a crash.
        """
        # Special files are refused here, before the worker could block opening a FIFO.
        check_regular_file(Path(path), source_name)
        request = {
            "path": os.fspath(path),
            "source_name": source_name,
            "text_field": self.text_field,
            "max_bytes": self.max_bytes,
        }
        with self._lock:
            response = self._ask(json.dumps(request).encode("ascii"), source_name, on_page)
        for message in response.get("logs", []):
            logger.warning("%s", message)
        if "error" in response:
            error = UnsupportedFileTypeError if response.get("unsupported") else LoaderError
            raise error(source_name, response["error"])
        return [LoadedDocument(**doc) for doc in response["documents"]], response["note"]

    def close(self) -> None:
        """Stop the worker (it exits when its input closes)."""
        with self._lock:
            proc, self._proc = self._proc, None
            if proc is not None:
                _stop(proc)

    def __enter__(self) -> LoaderWorker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the worker process ---------------------------------------------------------------------

    def _ensure(self, wait_ready: bool = True) -> subprocess.Popen[bytes]:
        if self._proc is not None and self._proc.poll() is not None:
            # It exited after its last answer (out of memory) or died meanwhile: start a fresh one.
            self._discard()
        if self._proc is None:
            self._proc = self._spawn()
        if wait_ready and not self._ready:
            self._wait_ready()
        return self._proc

    def _spawn(self) -> subprocess.Popen[bytes]:
        env = dict(os.environ)
        # The worker must import this very package, installed or not.
        root = str(Path(indexer.__file__).resolve().parents[1])
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
        limits = json.dumps(asdict(self.limits))
        proc = subprocess.Popen(
            [sys.executable, "-m", self.worker_module, limits],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            bufsize=0,
            env=env,
            close_fds=True,
            # Its own process group: a kill also stops the programs it runs (tesseract for OCR).
            start_new_session=True,
        )
        weakref.finalize(self, _stop, proc)
        self._buffer, self._ready = b"", False
        self.starts += 1
        logger.debug("loader worker %d started", proc.pid)
        return proc

    def _wait_ready(self) -> None:
        line = self._read_line(time.monotonic() + max(START_TIMEOUT_S, self.limits.load_timeout_s))
        if line != _READY:
            rc = self._discard()
            raise LoaderError("loader worker", f"the loader process did not start ({_exit_reason(rc)})")
        self._ready = True

    def _ask(self, request: bytes, source_name: str, on_page: PageCallback | None) -> dict[str, Any]:
        self._send(request + b"\n", source_name)
        timeout = self.limits.load_timeout_s
        deadline = time.monotonic() + timeout if timeout > 0 else None
        while True:
            line = self._read_line(deadline)
            if line is None:
                self._discard()
                raise LoaderError(source_name, f"took longer than {timeout:g} s to load; stopped (load_timeout_s)")
            if line == b"":
                rc = self._discard()
                raise LoaderError(source_name, f"the loader process died reading the file ({_exit_reason(rc)})")
            response = json.loads(line)
            if "progress" not in response:
                break
            deadline = self._page_deadline(deadline)
            if on_page is not None:
                event = response["progress"]
                on_page(str(event["source_name"]), int(event["page"]), int(event["pages"]))
        if response.get("exit"):
            # The worker ends itself after running out of memory; the next file gets a fresh one.
            self._discard()
        return response

    def _page_deadline(self, deadline: float | None) -> float | None:
        # A page about to be read by OCR gets its own time bound (which Tesseract is stopped at), and some slack.
        page = self.limits.ocr_page_timeout_s
        if deadline is None or page <= 0:
            return deadline
        return max(deadline, time.monotonic() + page + PAGE_SLACK_S)

    def _send(self, request: bytes, source_name: str) -> None:
        # A worker that died between files (killed from outside) is replaced once.
        for attempt in (1, 2):
            try:
                _write_all(self._ensure(), request)
                return
            except LoaderError as e:
                raise LoaderError(source_name, e.reason) from e
            except OSError as e:
                self._discard()
                if attempt == 2:
                    raise LoaderError(source_name, f"the loader process stopped before reading the file ({e})") from e

    def _read_line(self, deadline: float | None) -> bytes | None:
        # Returns the next line without its newline, b"" at end of output, None when the deadline passes.
        assert self._proc is not None and self._proc.stdout is not None
        fd = self._proc.stdout.fileno()
        while b"\n" not in self._buffer:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return None
            ready, _, _ = select.select([fd], [], [], remaining)
            if not ready:
                return None
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                return b""
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line

    def _discard(self) -> int | None:
        proc, self._proc = self._proc, None
        self._buffer, self._ready = b"", False
        return _stop(proc, force=True) if proc is not None else None


def _write_all(proc: subprocess.Popen[bytes], data: bytes) -> None:
    assert proc.stdin is not None
    view = memoryview(data)
    while view:
        written = proc.stdin.write(view)
        view = view[written or 0 :]


def _stop(proc: subprocess.Popen[bytes], force: bool = False) -> int | None:
    # Closing its input ends a healthy worker; one that does not end in a moment is killed.
    if proc.poll() is None:
        if force:
            _kill_group(proc)
        else:
            try:
                if proc.stdin is not None:
                    proc.stdin.close()
                proc.wait(timeout=2)
            except (OSError, subprocess.TimeoutExpired):
                _kill_group(proc)
    rc = proc.wait()
    for stream in (proc.stdin, proc.stdout):
        if stream is not None:
            stream.close()
    return rc


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError, AttributeError):
        proc.kill()


def _exit_reason(rc: int | None) -> str:
    if rc is None or rc >= 0:
        return f"exit status {rc}"
    try:
        name = signal.Signals(-rc).name
    except ValueError:
        name = f"signal {-rc}"
    if -rc == signal.SIGKILL:
        return f"killed by {name}, probably by the system for lack of memory"
    return f"crashed with {name}"
