"""bench.ann: the grown corpus keeps its real rows and languages, the ground truth is exact, the report renders."""

from __future__ import annotations

import numpy as np

from bench import ann
from bench.env import machine
from bench.report_ann import render_ann


def _real(n: int = 600, dim: int = 24, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    langs = np.array(["en", "de", "ru"])[rng.integers(0, 3, n)]
    centre = {lang: rng.normal(size=dim) for lang in ("en", "de", "ru")}
    v = np.stack([centre[lang] for lang in langs]) + 0.8 * rng.normal(size=(n, dim))
    q = np.stack([centre[lang] for lang in langs[:40]]) + 0.8 * rng.normal(size=(40, dim))
    return {
        "corpus": (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32),
        "corpus_lang": langs,
        "queries": (q / np.linalg.norm(q, axis=1, keepdims=True)).astype(np.float32),
        "query_lang": langs[:40],
    }


def test_expand_keeps_the_real_rows_and_gives_grown_rows_their_first_end_points_language() -> None:
    real = _real()
    vectors, langs = ann.expand(real["corpus"], real["corpus_lang"], 3000)
    assert vectors.shape == (3000, 24) and langs.shape == (3000,)
    np.testing.assert_array_equal(vectors[:600], real["corpus"])
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    # A grown row lies between two vectors of its language: its nearest real vector speaks that language.
    nearest = np.argmax(vectors[600:] @ real["corpus"].T, axis=1)
    assert np.mean(real["corpus_lang"][nearest] == langs[600:]) > 0.95


def test_exact_top_is_the_brute_force_order_with_and_without_a_filter() -> None:
    real = _real()
    truth = np.argsort(-(real["queries"] @ real["corpus"].T), axis=1)[:, : ann.K]
    np.testing.assert_array_equal(ann.exact_top(real["corpus"], real["queries"]), truth)
    allowed = np.flatnonzero(real["corpus_lang"] == "de")
    got = ann.exact_top(real["corpus"], real["queries"], allowed)
    assert np.isin(got, allowed).all()
    scores = real["queries"] @ real["corpus"][allowed].T
    np.testing.assert_array_equal(got, allowed[np.argsort(-scores, axis=1)[:, : ann.K]])


def test_one_size_measures_recall_that_grows_with_the_lists_visited_and_the_report_renders() -> None:
    result = ann.one_size(_real(), 3000, (1 / 16, 1 / 2))
    low, high = result["shares"]["1/16"]["report"]["recall"], result["shares"]["1/2"]["report"]["recall"]
    assert 0 <= low <= high <= 1 and high > 0.9
    assert result["shares"]["1/2"]["report"]["recall_filter"] > 0.9
    data = {"name": "ann", "config": {"k": 10, "threads": 1, "queries": 40, "real_vectors": 600, "sizes": [3000],
                                      "corpus": "test", "queries_from": "test", "filter": "one language"},
            "sizes": {"3000": result}, "chosen_share": "1/2", "machine": machine()}  # fmt: skip
    text = render_ann(data)
    assert "3,000 vectors" in text and "**1/2**" in text
