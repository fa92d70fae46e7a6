"""FAISS id selectors, and what a search derives from a filter array, kept for as long as the array lives.

A language filter is the same array query after query (the retriever keeps one per language and generation):
its bitmap and list counts are worth keeping. A collection filter is a new array each query: what was derived
from it goes with it, so one-off filters never pile up in memory.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Generic, TypeVar

import numpy as np

try:
    import faiss
except ImportError:  # pragma: no cover - the FAISS backends refuse to start without faiss
    faiss = None

T = TypeVar("T")
#: Most filter arrays whose derived values are kept at once (one per language, for balanced search, and more).
KEPT = 64


class IdBitmap:
    """A FAISS selector of some ids as a bitmap: one bit test per vector scanned, no hashing.

    Args:
        ids: the selected ids (non-negative, any order).
    """

    def __init__(self, ids: np.ndarray):
        mask = np.zeros(int(ids.max()) + 1 if len(ids) else 1, bool)
        mask[ids] = True
        self._bits = np.packbits(mask, bitorder="little")  # kept: the selector points into it
        # FAISS takes the bitmap's size in bytes: id i is selected iff i // 8 < size and its bit is set.
        self.selector = faiss.IDSelectorBitmap(len(self._bits), faiss.swig_ptr(self._bits))


class PerArray(Generic[T]):
    """Values derived from arrays, each kept while its array lives (at most ``KEPT``, the oldest dropped first)."""

    def __init__(self) -> None:
        self._held: dict[int, tuple[weakref.ref, T]] = {}

    def get(self, array: np.ndarray, make: Callable[[np.ndarray], T]) -> T:
        """The value derived from ``array``, made by ``make(array)`` unless this very array was seen.

        Args:
            array: the filter array (the object, not its contents, is the key).
            make: derives the value.

        Returns:
            The value.
        """
        key = id(array)
        hit = self._held.get(key)
        if hit is not None and hit[0]() is array:
            return hit[1]
        value = make(array)
        if len(self._held) >= KEPT:
            self._held.pop(next(iter(self._held)), None)
        held = self._held
        # The entry goes when the array does: CPython frees it (and may reuse its id) only after this callback.
        self._held[key] = (weakref.ref(array, lambda _, key=key: held.pop(key, None)), value)
        return value

    def clear(self) -> None:
        """Forget every value (the index changed)."""
        self._held.clear()

    def __len__(self) -> int:
        return len(self._held)
