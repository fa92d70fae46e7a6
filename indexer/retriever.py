"""The read path: filters to allowed ids, dense retrieval (plain or balanced) and the language statistics it needs.

The service asks one object for passages; this one asks the vector cache (``search``, ``count``,
``vectors_of``) and the store (language arrays, filtered ids). The per-language id arrays and profiles are
computed once per store generation, lazily, and shared by every search until the next commit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from indexer import retrieval
from indexer.store import SqlStore
from indexer.vectors import VectorCache


class Filters(NamedTuple):
    """The user's filters; None means no filter."""

    collections: list[str] | None
    languages: list[str] | None
    mimes: list[str] | None

    @property
    def active(self) -> bool:
        """Whether any filter is set."""
        return any(f is not None for f in self)


class Retriever:
    """Dense retrieval over the vector cache, with per-generation language arrays and profiles.

    Args:
        store: the metadata store.
        vectors: returns the vector cache (the caller syncs it once per search, before asking).
    """

    def __init__(self, store: SqlStore, vectors: Callable[[], VectorCache]):
        self.store = store
        self._vectors = vectors
        self._cache: tuple[int, dict[str, np.ndarray], dict[str, retrieval.LanguageProfile]] | None = None

    def retrieve(self, vector: np.ndarray, k: int, allowed: np.ndarray | None,
                 balanced: bool) -> tuple[list[tuple[int, float]], dict[str, int]]:  # fmt: skip
        """The best passages for a query vector, plain or language-balanced, with the language facets.

        Args:
            vector: the normalised query vector.
            k: passages wanted.
            allowed: ids the filters permit (None = all; see ``allowed``).
            balanced: cover the languages present instead of ranking by raw score.

        Returns:
            ([(chunk id, cosine)], relevant passages per language).
        """
        if allowed is not None and not len(allowed):
            return [], {}
        profiles, vectors = self.profiles(), self._vectors()
        # One query's lookups see one state of the index: an ingest in this process waits between two queries.
        with vectors.lock:
            return retrieval.dense(vectors, vector, profiles, allowed, k, vectors.vectors_of, balanced)

    def allowed(self, filters: Filters) -> np.ndarray | None:
        """The chunk ids the filters permit, or None when there is no filter.

        A languages-only filter comes from the per-generation language arrays, not one SQL query per search.
        """
        if not filters.active:
            return None
        if filters.collections is None and filters.mimes is None:
            held = self.language_ids()
            parts = [held[lang] for lang in filters.languages if lang in held]
            return np.unique(np.concatenate(parts)) if parts else np.empty(0, np.int64)
        return self.store.chunk_ids(*filters)

    def query_language(self, vector: np.ndarray) -> str | None:
        """The language whose passages' centroid the query vector is clearly nearest (short queries)."""
        return retrieval.embedding_language(vector, self.profiles())

    def cosines(self, vector: np.ndarray, ids: list[int]) -> dict[int, float]:
        """The query vector's cosine with each of some chunks."""
        if not ids:
            return {}
        return dict(zip(ids, (self._vectors().vectors_of(ids) @ vector).tolist()))

    def mean_vector(self, ids: list[int] | np.ndarray) -> np.ndarray:
        """The normalised mean of some chunks' vectors (a document's, for "more like this")."""
        mean = self._vectors().vectors_of(ids).mean(axis=0)
        return (mean / np.linalg.norm(mean)).astype(np.float32)

    def language_ids(self) -> dict[str, np.ndarray]:
        """Chunk ids by language, as of the store's current generation."""
        return self._for_generation()[1]

    def profiles(self) -> dict[str, retrieval.LanguageProfile]:
        """Each language's score distribution profile, as of the store's current generation."""
        return self._for_generation()[2]

    def _for_generation(self) -> tuple[int, dict, dict]:
        generation = self.store.generation()
        if self._cache is None or self._cache[0] != generation:
            language_ids = self.store.language_ids()
            profiles = retrieval.build_profiles(language_ids, self._vectors().vectors_of)
            self._cache = (generation, language_ids, profiles)
        return self._cache
