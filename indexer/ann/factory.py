"""Create a vector index backend from its configured name."""

from __future__ import annotations

import logging
from typing import Any

from indexer.ann.base import VectorIndex
from indexer.ann.faiss import FAISS, FaissIndex
from indexer.ann.milvus import MilvusIndex
from indexer.ann.numpy import NumpyIndex
from indexer.config import Settings

logger = logging.getLogger(__name__)

BACKENDS = {"faiss": FaissIndex, "milvus": MilvusIndex, "numpy": NumpyIndex}


def create_index(backend: str, dim: int, **options: Any) -> VectorIndex:
    """Return an empty index of the named backend.

    Args:
        backend: "faiss", "milvus" or "numpy"; "faiss" falls back to "numpy" (with a warning) when faiss is missing.
        dim: vector dimension.
        options: the backend's own keyword arguments (see ``index_options``); others ignore them.

    Returns:
        The index.

    Raises:
        ValueError: for an unknown backend name.
    """
    if backend not in BACKENDS:
        raise ValueError(f"unknown vector index backend {backend!r}; choose one of {sorted(BACKENDS)}")
    if backend == "faiss" and not FAISS:
        logger.warning("faiss is not available - falling back to the NumPy brute-force index")
        backend = "numpy"
    return BACKENDS[backend](dim, **options) if backend != "numpy" else NumpyIndex(dim)


def index_options(settings: Settings) -> dict[str, Any]:
    """The keyword arguments of the configured backend, from the settings.

    Args:
        settings: the settings.

    Returns:
        Options for ``create_index``.
    """
    if settings.ann_backend == "faiss":
        return {"exact_below": settings.ann_exact_below, "nprobe": settings.ann_nprobe or None,
                "threads": settings.threads}
    if settings.ann_backend == "milvus":
        # No URI: Milvus Lite in a file of the data directory (embedded, one process).
        return {"uri": settings.milvus_uri or str(settings.home_path / "milvus.db"),
                "collection": settings.milvus_collection, "index_type": settings.milvus_index}
    return {}
