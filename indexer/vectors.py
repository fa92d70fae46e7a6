"""Keeps the on-disk vector index in step with the database, its source of truth."""

from __future__ import annotations

import json
import logging
import os
import threading
from pathlib import Path

import numpy as np

from indexer.ann import VectorIndex, create_index
from indexer.errors import VectorIndexError
from indexer.store import SqlStore

logger = logging.getLogger(__name__)


class VectorCache:
    """The ANN index as a cache of the embeddings stored in SQL.

    The file is written atomically together with a ``config.json`` that records the store's
    generation counter; when the counter or the count disagrees, the index is rebuilt from the
    stored embeddings (never re-embedded).

    Args:
        store: the metadata store.
        home: data directory holding ``vectors.<backend>`` and ``config.json``.
        backend: ANN backend name.
        dim: vector dimension.
    """

    def __init__(self, store: SqlStore, home: Path, backend: str, dim: int):
        self.store = store
        self.home = home
        self.index: VectorIndex = create_index(backend, dim)
        self.dim = dim
        self.generation = -1
        self.lock = threading.RLock()
        self.path = home / f"vectors.{self.index.name}"
        self.config_path = home / "config.json"
        self.rebuilds = 0

    def sync(self) -> None:
        """Bring the in-memory index up to the database's generation (load the file or rebuild)."""
        with self.lock:
            current = self.store.generation()
            if current == self.generation:
                return
            if not self._load_if_fresh(current):
                self.rebuild()

    def _load_if_fresh(self, current: int) -> bool:
        saved = self._read_config()
        if saved.get("generation") != current or saved.get("backend") != self.index.name or not self.path.exists():
            return False
        try:
            self.index.load(self.path)
        except VectorIndexError as e:
            logger.warning("vector index unreadable, rebuilding from the database: %s", e)
            return False
        if self.index.count() != self.store.counts()["chunks"]:
            logger.warning("vector index holds %d vectors, database %d chunks: rebuilding",
                           self.index.count(), self.store.counts()["chunks"])
            return False
        self.generation = current
        return True

    def rebuild(self) -> None:
        """Rebuild the index from the embeddings stored in the database and save it."""
        with self.lock:
            generation = self.store.generation()
            ids_parts, vec_parts = [], []
            for ids, blobs in self.store.iter_embeddings():
                ids_parts.append(ids)
                vec_parts.append(np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(ids), -1))
            ids = np.concatenate(ids_parts) if ids_parts else np.empty(0, np.int64)
            vectors = np.concatenate(vec_parts) if vec_parts else np.empty((0, self.dim), np.float32)
            if vectors.shape[1] != self.dim:
                raise VectorIndexError(f"stored embeddings have dimension {vectors.shape[1]}, the model {self.dim}")
            self.index.index(ids, vectors)
            self.rebuilds += 1
            logger.info("rebuilt the vector index from %d stored embeddings", len(ids))
            self.generation = generation
            self.save()

    def apply(self, before: int, add: tuple[np.ndarray, np.ndarray] | None = None,
              remove: np.ndarray | None = None) -> None:
        """Apply one committed change in memory, or mark the index stale if others wrote meanwhile.

        Args:
            before: the generation the change was made on top of.
            add: (ids, vectors) added.
            remove: ids removed.
        """
        with self.lock:
            if self.generation != before or self.store.generation() != before + 1:
                self.generation = -1  # someone else wrote too: next sync rebuilds
                return
            if remove is not None and len(remove):
                self.index.delete(remove)
            if add is not None and len(add[0]):
                self.index.upsert(*add)
            self.generation = before + 1

    def save(self) -> None:
        """Write the index and its config atomically (skipped when stale)."""
        with self.lock:
            if self.generation < 0:
                return
            self.home.mkdir(parents=True, exist_ok=True)
            self.index.save(self.path)
            config = {"generation": self.generation, "backend": self.index.name, "dim": self.dim,
                      "count": self.index.count()}
            tmp = self.config_path.with_name("config.json.tmp")
            tmp.write_text(json.dumps(config, indent=2), encoding="utf-8")
            os.replace(tmp, self.config_path)

    def _read_config(self) -> dict:
        try:
            return json.loads(self.config_path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            return {}
