"""Stored embedding formats on real e5 vectors: fidelity, exact-search recall, bytes per chunk, migration speed.

The vectors are the real e5 embeddings of the evaluation data used by ``bench.ann`` (XQuAD paragraphs in 12
languages and Tatoeba sentences; XQuAD questions as queries). Each format is decoded back to float32 and
compared with the original: the cosine of each decoded vector to its original, and recall@10 of exact search
(float32 queries against the decoded corpus) taking the float32 corpus's top 10 as the truth. Then a SQLite
index of the release before migrations is built with those vectors and real paragraph texts, opened (which
migrates it to float16), and its size compared before and after ``VACUUM``.

Run: ``python -m bench.embedding_storage``; the result goes to bench/results/embedding_storage.json.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import create_engine, insert

from bench.data import load_xquad
from bench.env import ROOT, run_standalone, standalone_parser
from indexer.store import create_store, migrate, vector_codec

NAME = "embedding_storage"
K = 10


def exact_top(corpus: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """The ids of the ``K`` best inner products of each query, best first (brute force)."""
    out = np.empty((len(queries), K), np.int64)
    for start in range(0, len(queries), 64):
        scores = queries[start : start + 64] @ corpus.T
        top = np.argpartition(-scores, K, axis=1)[:, :K]
        order = np.argsort(-np.take_along_axis(scores, top, axis=1), axis=1)
        out[start : start + 64] = np.take_along_axis(top, order, axis=1)
    return out


def _float16(corpus: np.ndarray) -> np.ndarray:
    return np.stack([vector_codec.decode(vector_codec.encode(v)) for v in corpus])


def _int8(corpus: np.ndarray) -> np.ndarray:
    # Symmetric per-vector scale: the largest component maps to 127.
    scale = np.abs(corpus).max(axis=1, keepdims=True) / 127
    return (np.round(corpus / scale).astype(np.int8) * scale).astype(np.float32)


#: format -> (decode(encode(corpus)), stored bytes per 384-dim vector).
FORMATS: dict[str, tuple[Callable[[np.ndarray], np.ndarray], int]] = {
    "float32 (before)": (lambda c: c, 4 * 384),
    "float16 + tag (stored now)": (_float16, 1 + 2 * 384),
    "int8 + float32 scale (not used)": (_int8, 4 + 384),
}


def fidelity(corpus: np.ndarray, queries: np.ndarray) -> dict[str, Any]:
    """Cosine to the original and recall@10 of exact search, per format."""
    truth = exact_top(corpus, queries)
    out = {}
    for name, (round_trip, size) in FORMATS.items():
        decoded = round_trip(corpus)
        # In float64: float16's error (~1e-7 in cosine) is below float32's resolution near 1.
        d64, c64 = decoded.astype(np.float64), corpus.astype(np.float64)
        cos = np.sum(d64 * c64, axis=1) / np.linalg.norm(d64, axis=1) / np.linalg.norm(c64, axis=1)
        found = exact_top(decoded, queries)
        recall = np.mean([len(set(f) & set(t)) / K for f, t in zip(found, truth)])
        out[name] = {"bytes_per_vector": size, "one_minus_cosine_max": float(f"{1 - cos.min():.2e}"),
                     "one_minus_cosine_mean": float(f"{1 - cos.mean():.2e}"), f"recall@{K}": round(float(recall), 4),
                     "top1_same": round(float(np.mean(found[:, 0] == truth[:, 0])), 4)}  # fmt: skip
    return out


def _legacy_database(path: Path, corpus: np.ndarray, texts: list[str]) -> None:
    sys.path.insert(0, str(ROOT / "tests"))
    from legacy_db import LEGACY

    engine = create_engine(f"sqlite:///{path}")
    LEGACY.Base.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(insert(LEGACY.CollectionRow), [{"id": 1, "name": "bench"}])
        conn.execute(insert(LEGACY.DocumentRow), [{"id": 1, "collection_id": 1, "sha256": "0" * 64}])
        conn.execute(insert(LEGACY.ChunkRow), [
            {"id": i + 1, "document_id": 1, "ordinal": i, "text": texts[i % len(texts)], "char_start": 0,
             "char_end": 0, "language": "en", "n_tokens": 0, "embedding": v.tobytes()} for i, v in enumerate(corpus)
        ])  # fmt: skip
    engine.dispose()


def storage(corpus: np.ndarray, texts: list[str]) -> dict[str, Any]:
    """Build an index of the previous release, open it (migrating), and compare sizes and blob lengths."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "babelsearch.db"
        _legacy_database(path, corpus, texts)
        con = sqlite3.connect(path)
        con.execute("VACUUM")
        before_blob = con.execute("SELECT avg(length(embedding)) FROM chunks").fetchone()[0]
        before = path.stat().st_size
        con.close()
        t0 = time.perf_counter()
        migrate.upgrade_database(f"sqlite:///{path}")  # what opening the store does first
        migrate_s = time.perf_counter() - t0
        create_store(f"sqlite:///{path}").close()  # the store opens it as it is (and adds the keyword index)
        con = sqlite3.connect(path)
        after_blob = con.execute("SELECT avg(length(embedding)) FROM chunks").fetchone()[0]
        # Size without the keyword index, which the old file did not have yet, then VACUUM to give pages back.
        con.execute("DROP TABLE chunks_fts")
        con.execute("VACUUM")
        # The store left the file in WAL mode: leaving it writes the vacuumed pages back into the file itself.
        con.execute("PRAGMA journal_mode=DELETE")
        after = path.stat().st_size
        con.close()
    n = len(corpus)
    return {"chunks": n, "text_chars_mean": round(float(np.mean([len(texts[i % len(texts)]) for i in range(n)]))),
            "embedding_bytes_before": before_blob, "embedding_bytes_after": after_blob,
            "file_bytes_per_chunk_before": round(before / n), "file_bytes_per_chunk_after": round(after / n),
            "migration_s": round(migrate_s, 2), "migration_chunks_per_s": round(n / migrate_s),
            "note": "file sizes after VACUUM, keyword index left out of both"}  # fmt: skip


def measure(args: argparse.Namespace) -> dict[str, Any]:
    """The benchmark: real vectors, each format's fidelity, the migrated file's size."""
    from bench.ann import real_embeddings

    real = real_embeddings(args.eval_dir, args.cache_dir)
    corpus, queries = real["corpus"], real["queries"]
    texts = [p for paragraphs in load_xquad(args.eval_dir).paragraphs.values() for p in paragraphs]
    return {"config": {"corpus": int(len(corpus)), "queries": int(len(queries)), "dim": int(corpus.shape[1]),
                       "vectors": "real e5 (bench.ann.real_embeddings): XQuAD paragraphs + Tatoeba sentences; "
                                  "XQuAD questions as queries",
                       "texts": "XQuAD paragraphs in turn (for the file size)"},
            "formats": fidelity(corpus, queries), "storage": storage(corpus, texts)}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and write its result file."""
    return run_standalone(standalone_parser(NAME, __doc__), measure, argv)


if __name__ == "__main__":
    sys.exit(main())
