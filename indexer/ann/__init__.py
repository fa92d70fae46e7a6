"""Vector index backends behind one interface (FAISS, NumPy brute force)."""

from __future__ import annotations

from indexer.ann.base import VectorIndex
from indexer.ann.factory import create_index, index_options

__all__ = ["VectorIndex", "create_index", "index_options"]
