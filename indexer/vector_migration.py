"""Move an index's vectors to another backend (e.g. FAISS -> Milvus), verified before the switch is recorded."""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from indexer.ann import index_options
from indexer.ann.factory import BACKENDS
from indexer.ann.milvus_expr import safe_uri
from indexer.config import Settings
from indexer.errors import VectorIndexError
from indexer.pipeline import Indexer
from indexer.vectors import VectorCache

logger = logging.getLogger(__name__)

#: Stored vectors searched in the new index after the move, each of which must find itself.
SPOT_CHECKS = 20
#: Settings a move writes into ``<home>/settings.json`` so that the next start opens the new backend.
MOVED_SETTINGS = ("ann_backend", "milvus_uri", "milvus_collection", "milvus_index")


@dataclass(frozen=True)
class VectorMigration:
    """What a move did: from where to where, the counts compared and the settings written."""

    source: str
    target: str
    stored: int
    source_count: int
    target_count: int
    spot_checked: int
    settings_file: str

    def to_dict(self) -> dict[str, Any]:
        """Plain fields for JSON output."""
        return asdict(self)


def migrate_vectors(indexer: Indexer, backend: str, **settings: Any) -> VectorMigration:
    """Copy every vector into a new backend, verify it, then make it the index's backend.

    The new index is filled from the embeddings stored in the database (the source of truth, never
    re-embedded) and checked three ways before anything is switched: its count equals the database's and the
    old index's, it holds exactly the same ids, and stored vectors searched in it find themselves. Then the
    backend is recorded in the index metadata and in ``<home>/settings.json``, and ``indexer`` uses it.

    Args:
        indexer: the open index (its current vectors are the source).
        backend: the target backend name ("milvus", "faiss" or "numpy").
        **settings: target settings (``milvus_uri``, ``milvus_collection``, ``milvus_index``); None is ignored.

    Returns:
        The counts compared and the settings file written.

    Raises:
        ValueError: for an unknown backend, or a target that is the current index itself.
        VectorIndexError: if the new index disagrees with the database (the old one stays in use).
    """
    if backend not in BACKENDS:
        raise ValueError(f"unknown vector index backend {backend!r}; choose one of {sorted(BACKENDS)}")
    current = indexer.settings
    target = current.with_overrides(ann_backend=backend, **settings)
    options = index_options(target)
    if backend == current.ann_backend and options == index_options(current):
        raise ValueError(
            f"the vectors are already in {backend} with these settings; name another target "
            "(e.g. --uri for another Milvus)"
        )
    with indexer.lock:
        source = indexer.vectors
        with source.lock:
            stored, source_count = indexer.store.chunk_count(), source.index.count()
            moved = VectorCache(indexer.store, current.home_path, backend, source.dim, options)
            try:
                moved.rebuild()
                checked = _verify(source, moved, stored)
            except BaseException:
                moved.index.close()
                source.save()  # config.json names the old backend again
                raise
        indexer.store.set_meta({"index_type": backend})
        settings_file = _write_settings(target)
        indexer.settings, indexer._vectors = target, moved
        source.index.close()
        if source.path != moved.path:
            # The old file is a cache of what is now elsewhere; it would only go stale (and take the disk).
            source.path.unlink(missing_ok=True)
    result = VectorMigration(
        source.index.name, backend, stored, source_count, moved.index.count(), checked, str(settings_file)
    )
    logger.info("vectors moved to %s: %d stored, %d in the new index", backend, stored, result.target_count)
    return result


def _verify(source: VectorCache, moved: VectorCache, stored: int) -> int:
    """Counts, ids and spot searches of the new index against the database and the old index."""
    counts = {
        "database": stored,
        source.index.name: source.index.count(),
        f"new {moved.index.name}": moved.index.count(),
    }
    if len(set(counts.values())) != 1:
        raise VectorIndexError(f"vector counts disagree after the move: {counts}; the old index stays in use")
    held = moved.index.ids()
    if not np.array_equal(held, source.index.ids()):
        raise VectorIndexError("the new index holds other ids than the old one; the old index stays in use")
    # A few stored vectors, spread over the id range, must each find themselves among their nearest.
    sample = held[np.linspace(0, len(held) - 1, min(SPOT_CHECKS, len(held))).astype(int)] if len(held) else held
    if not len(sample):
        return 0
    blobs = moved.store.embeddings(sample)
    queries = np.stack([np.frombuffer(blobs[int(i)], dtype=np.float32) for i in sample])
    found = moved.index.search(queries, 10)[1]
    lost = [int(i) for i, row in zip(sample, found) if i not in row]
    if lost:
        raise VectorIndexError(
            f"stored vectors not found in the new index: chunk ids {lost}; the old index stays in use"
        )
    return len(sample)


def _write_settings(target: Settings) -> Path:
    """Record the new backend in ``<home>/settings.json`` (other keys kept), atomically."""
    path = target.home_path / "settings.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: not valid JSON ({e}); the vectors were moved, set ann_backend by hand") from e
    names = MOVED_SETTINGS if target.ann_backend == "milvus" else MOVED_SETTINGS[:1]
    data.update({name: getattr(target, name) for name in names})
    tmp = path.with_name(f"settings.json.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    if target.ann_backend == "milvus" and safe_uri(target.milvus_uri) != target.milvus_uri:
        # The URI carries a password: the file is for its owner only.
        tmp.chmod(0o600)
    os.replace(tmp, path)
    env = os.environ.get("BABELSEARCH_ANN_BACKEND")
    if env is not None and env != target.ann_backend:
        logger.warning(
            "BABELSEARCH_ANN_BACKEND=%s overrides %s: unset it or set it to %s", env, path, target.ann_backend
        )
    return path
