"""The read path: filters to allowed ids, dense retrieval (plain or balanced) and the language statistics it needs.

The service asks one object for passages; this one asks the vector cache (``search``, ``count``,
``vectors_of``) and the store (language arrays, filtered ids). The per-language id arrays and profiles are
computed once per store generation, lazily, and shared by every search until the next commit.
"""

from __future__ import annotations

import logging
import os
import zipfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import NamedTuple

import numpy as np

from indexer import retrieval
from indexer.store import SqlStore
from indexer.vectors import VectorCache

logger = logging.getLogger(__name__)


class Filters(NamedTuple):
    """The user's filters; None means no filter."""

    collections: list[str] | None
    languages: list[str] | None
    mimes: list[str] | None

    @property
    def active(self) -> bool:
        """Whether any filter is set."""
        return any(f is not None for f in self)


class _Generation(NamedTuple):
    """What the retriever derives from one store generation."""

    number: int
    language_ids: dict[str, np.ndarray]
    profiles: retrieval.Profiles
    #: Language-set filters already built (a sorted tuple of codes -> their chunk ids).
    unions: dict[tuple[str, ...], np.ndarray]


class Retriever:
    """Dense retrieval over the vector cache, with per-generation language arrays and profiles.

    Args:
        store: the metadata store.
        vectors: returns the vector cache (the caller syncs it once per search, before asking).
    """

    def __init__(self, store: SqlStore, vectors: Callable[[], VectorCache]):
        self.store = store
        self._vectors = vectors
        self._cache: _Generation | None = None

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
            return self._languages_ids(tuple(sorted(set(filters.languages))))
        return self.store.chunk_ids(*filters)

    def _languages_ids(self, languages: tuple[str, ...]) -> np.ndarray:
        # One array per language set and generation: the vector index keeps what it derives from a filter array
        # it sees again (languages hold disjoint ids, so their union is a sorted concatenation).
        current = self._for_generation()
        unions, held = current.unions, current.language_ids
        if languages not in unions:
            parts = [held[lang] for lang in languages if lang in held]
            unions[languages] = (parts[0] if len(parts) == 1 else np.sort(np.concatenate(parts))) if parts else \
                np.empty(0, np.int64)
        return unions[languages]

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
        return self._for_generation().language_ids

    def profiles(self) -> retrieval.Profiles:
        """Each language's score distribution profile, as of the store's current generation."""
        return self._for_generation().profiles

    def _for_generation(self) -> _Generation:
        generation = self.store.generation()
        if self._cache is None or self._cache.number != generation:
            saved = self._vectors().home / PROFILES_FILE
            known = (self._cache.number, self._cache.profiles) if self._cache else load_profiles(saved)
            profiles = known[1] if known and known[0] == generation else None
            if profiles is None:
                profiles = (self._caught_up(known[1]) if known else None) or \
                    retrieval.build_profiles(self.store.language_ids(), self._vectors().vectors_of)
                save_profiles(saved, generation, profiles)
            self._cache = _Generation(generation, {lang: p.ids for lang, p in profiles.items()}, profiles, {})
        return self._cache

    def _caught_up(self, profiles: retrieval.Profiles
                   ) -> retrieval.Profiles | None:  # fmt: skip
        """An earlier generation's profiles with the chunks added since; None when chunks went (or none came).

        Only the new chunks' languages are read. A language's mean and covariance are estimated again once it
        has grown by ``REPROFILE_GROWTH`` since they were (then every language is, for the pooled statistics).
        """
        last = max((int(p.ids[-1]) for p in profiles.values() if len(p.ids)), default=-1)
        added = self.store.language_ids(after=last)
        held = sum(len(p.ids) for p in profiles.values()) + sum(len(ids) for ids in added.values())
        if not added or held != self.store.chunk_count():
            return None  # deletes (or a change that added nothing, such as new embeddings): profile afresh
        empty = np.empty(0, np.int64)
        ids = {lang: np.concatenate([profiles[lang].ids if lang in profiles else empty, added.get(lang, empty)])
               for lang in profiles.keys() | added.keys()}
        if any(lang not in profiles or len(ids[lang]) > (1 + REPROFILE_GROWTH) * max(1, profiles[lang].profiled)
               for lang in added):
            return retrieval.build_profiles(ids, self._vectors().vectors_of)
        return retrieval.Profiles({lang: replace(p, ids=ids[lang]) for lang, p in profiles.items()})


#: A language's score profile is estimated again once its chunks have grown by this share since the last time.
REPROFILE_GROWTH = 0.1
#: The language arrays and profiles of the last generation, saved beside the vector index: a new process reads
#: them instead of a million-row query and a sample of vectors.
PROFILES_FILE = "profiles.npz"


def save_profiles(path: Path, generation: int, profiles: retrieval.Profiles) -> None:
    """Write the profiles of a store generation atomically (a failure to write only costs the next start time).

    Args:
        path: the file.
        generation: the store generation they describe.
        profiles: per-language profiles.
    """
    arrays: dict[str, np.ndarray] = {"generation": np.array(generation), "languages": np.array(list(profiles))}
    for n, profile in enumerate(profiles.values()):
        arrays.update({f"ids{n}": profile.ids, f"mean{n}": profile.mean, f"cov{n}": profile.cov,
                       f"profiled{n}": np.array(profile.profiled)})
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp.npz")
    try:
        np.savez(tmp, **arrays)
        os.replace(tmp, path)
    except OSError as e:
        logger.warning("could not save the language profiles to %s: %s", path, e)
        tmp.unlink(missing_ok=True)


def load_profiles(path: Path) -> tuple[int, retrieval.Profiles] | None:
    """The saved profiles and the store generation they describe, or None (missing or unreadable).

    Args:
        path: the file.

    Returns:
        (generation, per-language profiles), or None.
    """
    try:
        with np.load(path, allow_pickle=False) as saved:
            profiles = retrieval.Profiles(
                {str(lang): retrieval.LanguageProfile(saved[f"ids{n}"], saved[f"mean{n}"], saved[f"cov{n}"],
                                                      int(saved[f"profiled{n}"]))
                 for n, lang in enumerate(saved["languages"])})  # fmt: skip
            return int(saved["generation"]), profiles
    except (OSError, EOFError, KeyError, ValueError, zipfile.BadZipFile) as e:
        if path.exists():
            logger.warning("ignoring unreadable language profiles %s: %s", path, e)
        return None
