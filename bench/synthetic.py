"""Synthetic large indexes: random unit vectors and real paragraph texts, written in bulk through the store."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

import numpy as np
from sqlalchemy import insert

from indexer.store import SqlStore
from indexer.store.schema import ChunkRow, DocumentRow

logger = logging.getLogger(__name__)

COLLECTION = "synthetic"
CHUNKS_PER_DOCUMENT = 10
BATCH = 20_000


def vectors(n: int, dim: int, seed: int = 0, batch: int = BATCH) -> Iterator[np.ndarray]:
    """Random L2-normalised float32 vectors in batches, the same for the same seed.

    Args:
        n: how many.
        dim: dimension.
        seed: random seed.
        batch: rows per batch.

    Yields:
        (rows, dim) arrays.
    """
    rng = np.random.default_rng(seed)
    for start in range(0, n, batch):
        v = rng.standard_normal((min(batch, n - start), dim), dtype=np.float32)
        yield v / np.linalg.norm(v, axis=1, keepdims=True)


def _batches(rows: np.ndarray, batch: int = BATCH) -> Iterator[np.ndarray]:
    for start in range(0, len(rows), batch):
        yield rows[start:start + batch]


def fill(store: SqlStore, n: int, dim: int, texts: list[str], langs: list[str], seed: int = 0,
         given: tuple[np.ndarray, np.ndarray] | None = None) -> dict[str, float]:
    """Add ``n`` chunks (documents of ten chunks) with their keyword-index rows, then bump the generation.

    Rows go straight through the store's session with bulk INSERTs: the pipeline's per-document
    transactions would take hours at a million chunks. The vector index is left to rebuild itself
    from the stored embeddings, as it does after any outside change.

    Args:
        store: a fresh store (the collection must not exist yet).
        n: number of chunks.
        dim: vector dimension.
        texts: chunk texts, used in turn.
        langs: chunk languages, used in turn.
        seed: vector seed.
        given: (vectors, languages) to store instead of random vectors: chunk i gets row i and its language, each
            document its first chunk's language (``langs`` is then unused).

    Returns:
        Seconds spent writing rows and keyword-index rows.
    """
    t0 = time.perf_counter()
    n = n if given is None else len(given[0])

    def chunk_lang(i: int) -> str:  # chunk ids count from 1
        return langs[((i - 1) // CHUNKS_PER_DOCUMENT) % len(langs)] if given is None else str(given[1][i - 1])

    cid = store.ensure_collection(COLLECTION)
    n_docs = -(-n // CHUNKS_PER_DOCUMENT)
    with store.session() as s, s.begin():
        s.execute(insert(DocumentRow), [
            {"id": d + 1, "collection_id": cid, "sha256": f"{d:064x}", "title": f"synthetic {d}",
             "source_name": f"synthetic-{d}.txt", "mime": "text/plain",
             "language": chunk_lang(d * CHUNKS_PER_DOCUMENT + 1), "size": 0, "n_chunks": CHUNKS_PER_DOCUMENT,
             "meta": {}, "text": ""} for d in range(n_docs)])
    fts_s, start = 0.0, 0
    for batch in vectors(n, dim, seed) if given is None else _batches(given[0]):
        ids = range(start + 1, start + len(batch) + 1)
        rows = [{"id": i, "document_id": (i - 1) // CHUNKS_PER_DOCUMENT + 1, "ordinal": (i - 1) % CHUNKS_PER_DOCUMENT,
                 "text": texts[i % len(texts)], "char_start": 0, "char_end": len(texts[i % len(texts)]),
                 "language": chunk_lang(i), "n_tokens": 0,
                 "embedding": v.tobytes()} for i, v in zip(ids, batch)]
        with store.session() as s, s.begin():
            s.execute(insert(ChunkRow), rows)
            t1 = time.perf_counter()
            if store.keywords is not None:
                store.keywords.insert(s.connection(), [(r["id"], r["text"]) for r in rows])
            fts_s += time.perf_counter() - t1
        start += len(batch)
    # The generation counter tells the vector cache that the database changed.
    store.set_meta({"generation": str(store.generation() + 1)})
    total = time.perf_counter() - t0
    logger.info("synthetic: %d chunks written in %.1f s (keyword index %.1f s)", n, total, fts_s)
    return {"write_s": round(total, 1), "keyword_index_s": round(fts_s, 1)}
