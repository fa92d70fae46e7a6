"""Create a vector index backend from its configured name."""

from __future__ import annotations

import logging

from indexer.ann.base import VectorIndex
from indexer.ann.faiss import FAISS, FaissIndex
from indexer.ann.numpy import NumpyIndex

logger = logging.getLogger(__name__)

BACKENDS = {"faiss": FaissIndex, "numpy": NumpyIndex}


def create_index(backend: str, dim: int) -> VectorIndex:
    """Return an empty index of the named backend.

    Args:
        backend: "faiss" or "numpy"; "faiss" falls back to "numpy" (with a warning) when faiss is missing.
        dim: vector dimension.

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
    return BACKENDS[backend](dim)
