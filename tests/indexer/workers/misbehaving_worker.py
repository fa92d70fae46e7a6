"""A loader worker whose .txt loader misbehaves as the file asks: sleep, crash, exit, print or allocate."""

from __future__ import annotations

import logging
import os
import signal
import time

import indexer.loaders as loaders
from indexer.loaders import worker
from indexer.types import LoadedDocument

_load_text = loaders.load_text


def _misbehave(data: bytes, source_name: str) -> list[LoadedDocument]:
    action = data.decode(errors="replace").strip()
    if action == "sleep":
        time.sleep(3600)
    elif action == "segfault":
        os.kill(os.getpid(), signal.SIGSEGV)
    elif action == "exit":
        os._exit(3)
    elif action == "allocate":
        _ = bytearray(64 * 1024**3)
    elif action == "print":
        # A library writing to stdout must not corrupt the answers.
        print("noise on stdout\n{not json")
    elif action == "warn":
        logging.getLogger("some.library").warning("careful: %s", source_name)
    return _load_text(data, source_name)


loaders.load_text = _misbehave

if __name__ == "__main__":
    worker.main()
