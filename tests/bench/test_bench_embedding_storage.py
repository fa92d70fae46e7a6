"""The embedding-storage benchmark's measures, on small vectors (the real run uses the e5 embeddings)."""

from __future__ import annotations

import numpy as np

from bench import embedding_storage


def _unit(n: int, seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal((n, 384)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_exact_top_is_the_brute_force_ranking() -> None:
    corpus, queries = _unit(300, 0), _unit(5, 1)
    expected = np.argsort(-(queries @ corpus.T), axis=1)[:, : embedding_storage.K]
    np.testing.assert_array_equal(embedding_storage.exact_top(corpus, queries), expected)


def test_fidelity_orders_the_formats_by_precision() -> None:
    report = embedding_storage.fidelity(_unit(500, 2), _unit(20, 3))
    f32, f16, i8 = (report[name] for name in embedding_storage.FORMATS)
    assert (f32["recall@10"], f32["bytes_per_vector"], f16["bytes_per_vector"]) == (1.0, 1536, 769)
    assert f32["one_minus_cosine_max"] < 1e-12 < f16["one_minus_cosine_max"] < 1e-6 < i8["one_minus_cosine_max"]


def test_storage_migrates_an_old_index_to_half_the_embedding_bytes() -> None:
    report = embedding_storage.storage(_unit(2000, 4), ["ein Text", "a text"])
    assert (report["embedding_bytes_before"], report["embedding_bytes_after"]) == (1536, 769)
    assert report["file_bytes_per_chunk_after"] < report["file_bytes_per_chunk_before"]
