"""What searches derive from filter arrays lives as long as the arrays, and FAISS bitmaps select exactly."""

from __future__ import annotations

import numpy as np

from indexer.ann import selectors
from indexer.ann.selectors import IdBitmap, PerArray


def test_a_value_is_made_once_per_array_and_goes_with_it() -> None:
    made = []
    cache: PerArray[int] = PerArray()
    language = np.arange(10, dtype=np.int64)
    make = lambda a: made.append(1) or len(made)  # noqa: E731
    assert cache.get(language, make) == cache.get(language, make) == 1
    assert cache.get(language.copy(), make) == 2  # equal contents, another array: made again
    assert len(cache) == 1  # the copy is gone already, and its entry with it
    one_off = np.arange(5, dtype=np.int64)
    cache.get(one_off, make)
    assert len(cache) == 2
    del one_off
    assert len(cache) == 1 and cache.get(language, make) == 1


def test_at_most_kept_arrays_are_remembered(monkeypatch) -> None:
    monkeypatch.setattr(selectors, "KEPT", 3)
    cache: PerArray[int] = PerArray()
    arrays = [np.arange(n + 1) for n in range(5)]
    for a in arrays:
        cache.get(a, len)
    assert len(cache) == 3


def test_a_bitmap_selects_exactly_its_ids() -> None:
    ids = np.array([3, 8, 9, 21], dtype=np.int64)
    selector = IdBitmap(ids).selector
    assert [i for i in range(200) if selector.is_member(i)] == ids.tolist()
