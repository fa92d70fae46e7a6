"""Keeps the on-disk vector index in step with the database, its source of truth."""

from __future__ import annotations

import fcntl
import json
import logging
import os
import threading
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from indexer.ann import VectorIndex, create_index
from indexer.errors import VectorIndexError
from indexer.store import SqlStore

logger = logging.getLogger(__name__)


class VectorCache:
    """The ANN index as a cache of the embeddings stored in SQL.

    The file is written atomically together with a ``config.json`` that records the store's
    generation counter. When the database has moved on (another process committed), the cache
    catches up incrementally: it adds the chunks it lacks and drops the ones deleted, reading only
    their embeddings. A missing or unreadable file is rebuilt from the stored embeddings (never
    re-embedded).

    Args:
        store: the metadata store.
        home: data directory holding ``vectors.<backend>`` and ``config.json``.
        backend: ANN backend name.
        dim: vector dimension.
        options: the backend's options (``indexer.ann.index_options``).
    """

    def __init__(self, store: SqlStore, home: Path, backend: str, dim: int, options: dict | None = None):
        self.store = store
        self.home = home
        self.index: VectorIndex = create_index(backend, dim, **(options or {}))
        self.dim = dim
        self.generation = -1  # the store generation the index reflects; -1: unknown, check on next sync
        self.lock = threading.RLock()
        self.path = home / f"vectors.{self.index.name}"
        self.config_path = home / "config.json"
        self.rebuilds = 0
        self.catch_ups = 0
        self._loaded = False
        self._max_id: int | None = -1

    def search(
        self, queries: np.ndarray, k: int, allowed: np.ndarray | None = None, quick: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
        """Nearest stored vectors of each query (see ``VectorIndex.search``), as of the last sync.

        Held under the cache's lock: an ingest in this process adds each document's vectors between two lookups.
        """
        with self.lock:
            return self.index.search(queries, k, allowed, quick)

    def count(self) -> int:
        """Vectors in the index."""
        return self.index.count()

    def warm(self) -> None:
        """Read the index ahead (searches go on meanwhile), then build what filtered searches and writes use."""
        self.index.warm()
        with self.lock:
            self.index.prepare()

    def vectors_of(self, ids: list[int] | np.ndarray) -> np.ndarray:
        """The stored (float32) vectors of some chunks, in the order of ``ids``, read from the store.

        The index keeps no copy to hand out (FAISS IVF and Milvus cannot give vectors back cheaply), and a
        lookup needs only a few: the feedback hits, the results' scores, a document's chunks.
        """
        if not len(ids):
            return np.empty((0, self.dim), np.float32)
        blobs = self.store.embeddings(ids)
        return np.stack([np.frombuffer(blobs[int(i)], dtype=np.float32) for i in ids])

    def sync(self) -> None:
        """Bring the in-memory index up to the database's generation (load the file, catch up, or rebuild)."""
        with self.lock:
            current = self.store.generation()
            if current == self.generation:
                return
            if not self._loaded:
                if not self._load_file():
                    self.rebuild()
                    return
                if self.generation != current:  # a file saved at the database's generation needs nothing
                    self._catch_up(current, full=True)
                return
            self._catch_up(current)

    def _load_file(self) -> bool:
        saved = self._read_config()
        if saved.get("backend") != self.index.name or not self.path.exists():
            return False
        try:
            self.index.load(self.path)
        except VectorIndexError as e:
            logger.warning("vector index unreadable, rebuilding from the database: %s", e)
            return False
        self._loaded = True
        self._max_id = None  # listing every id of a large index is slow: asked for when catching up
        self.generation = int(saved.get("generation", -1))
        return True

    def _catch_up(self, current: int, full: bool = False) -> None:
        # Chunk ids only grow: new chunks are those above the largest id held; count tells whether any went.
        if self._max_id is None:
            self._max_id = self.index.max_id()
        added = self._add(self.store.iter_vectors(after=self._max_id))
        if full or self.index.count() != self.store.chunk_count():
            stored, held = self.store.chunk_ids(), self.index.ids()
            gone = np.setdiff1d(held, stored)
            if len(gone):
                self.index.delete(gone)
            missing = np.setdiff1d(stored, held)
            added += self._add([(missing, self.vectors_of(missing))] if len(missing) else [])
            logger.info("vector index caught up: %d added, %d removed", added, len(gone))
        self.generation = current
        self.catch_ups += 1

    def _add(self, batches: Iterable[tuple[np.ndarray, np.ndarray]]) -> int:
        n = 0
        for ids, vectors in batches:
            self.index.upsert(ids, vectors)
            self._max_id = max(self._max_id, int(ids.max()))
            n += len(ids)
        return n

    def rebuild(self) -> None:
        """Rebuild the index from the embeddings stored in the database and save it."""
        with self.lock:
            generation = self.store.generation()
            count = self.store.chunk_count()
            self.index.index_batches(count, self._checked_batches)
            self.rebuilds += 1
            logger.info("rebuilt the vector index from %d stored embeddings", self.index.count())
            self._loaded = True
            self._max_id = self.index.max_id()
            self.generation = generation
            self.save()

    def _checked_batches(self) -> Iterable[tuple[np.ndarray, np.ndarray]]:
        for ids, vectors in self.store.iter_vectors():
            if vectors.shape[1] != self.dim:
                raise VectorIndexError(f"stored embeddings have dimension {vectors.shape[1]}, the model {self.dim}")
            yield ids, vectors

    def apply(self, before: int, add: tuple[np.ndarray, np.ndarray] | None = None,
              remove: np.ndarray | None = None) -> None:
        """Apply one committed change in memory; if others wrote meanwhile, the next sync checks the rest.

        Args:
            before: the generation the change was made on top of.
            add: (ids, vectors) added.
            remove: ids removed.
        """
        with self.lock:
            in_step = self.generation == before and self.store.generation() == before + 1
            if remove is not None and len(remove):
                self.index.delete(remove)
            if add is not None and len(add[0]):
                self.index.upsert(*add)
                if self._max_id is not None:
                    self._max_id = max(self._max_id, int(np.max(add[0])))
            # Someone else wrote too: the next sync compares ids with the database (no rebuild).
            self.generation = before + 1 if in_step else -1

    def save(self) -> None:
        """Write the index and its config atomically, caught up with the database first.

        A file lock serialises writers of one data directory, so the file and its config always match.
        """
        with self.lock:
            if self.generation < 0:
                self.sync()
            self.home.mkdir(parents=True, exist_ok=True)
            with (self.home / "vectors.lock").open("w") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                self.index.save(self.path)
                config = {"generation": self.generation, "backend": self.index.name, "dim": self.dim,
                          "count": self.index.count(), "structure": self.index.structure()}
                tmp = self.config_path.with_name(f"config.json.{os.getpid()}.tmp")
                tmp.write_text(json.dumps(config, indent=2), encoding="utf-8")
                os.replace(tmp, self.config_path)

    def _read_config(self) -> dict:
        return read_saved(self.home)

    def describe(self) -> dict:
        """Backend, vector count and structure of the index in memory (as ``read_saved`` gives the saved one)."""
        return {"backend": self.index.name, "count": self.index.count(), "structure": self.index.structure()}


def read_saved(home: Path) -> dict:
    """The saved index's ``config.json`` (backend, count, structure, generation), or {} where there is none.

    Args:
        home: the data directory.

    Returns:
        The config.
    """
    try:
        return json.loads((home / "config.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}


def structure_label(facts: dict) -> str:
    """A one-line description of an index for people, e.g. "faiss · IVF (float16 vectors), 4000 lists, 125 searched".

    Args:
        facts: ``VectorCache.describe()`` or ``read_saved()``.

    Returns:
        The label ("" where nothing is known).
    """
    structure, backend = facts.get("structure") or {}, facts.get("backend", "")
    kind = structure.get("type", "exact")
    if not backend:
        return ""
    if kind in ("exact", "flat"):
        return f"{backend} · exact"
    if kind in ("ivf-flat", "ivf-fp16"):
        vectors = "float32" if kind == "ivf-flat" else "float16"
        return (f"{backend} · IVF ({vectors} vectors), {structure['nlist']} lists, {structure['nprobe']} searched "
                "(approximate)")
    return f"{backend} · {kind.upper()} (approximate)"
