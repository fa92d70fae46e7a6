"""The reference ordering of the cross-language benchmark: passages grouped by their true paragraph."""

from __future__ import annotations

from bench.crosslang_ceiling import _ranking
from indexer.retrieval import Hit


def test_the_best_paragraphs_versions_come_first_then_one_passage_of_each_next() -> None:
    # Paragraph 7 has one outstanding passage (en, 9.0) but no versions; paragraph 3 is strong in three languages.
    paragraph = {1: 7, 2: 3, 3: 5, 11: 3, 12: 5, 21: 3, 22: 9, 23: 5}
    by_language = {
        "en": [Hit(1, 0.9, 9.0, "en"), Hit(2, 0.8, 6.0, "en"), Hit(3, 0.7, 2.0, "en")],
        "de": [Hit(11, 0.8, 7.0, "de"), Hit(12, 0.7, 3.0, "de")],
        "fr": [Hit(21, 0.8, 5.0, "fr"), Hit(22, 0.7, 4.0, "fr"), Hit(23, 0.6, 1.0, "fr")],
    }
    ranked = _ranking(by_language, paragraph, 12)
    # Paragraph 3 (mean of 7, 6, 5) beats 7 (9 alone: 3), 5 (mean of 3, 2, 1) and 9 (4 alone).
    assert ranked[:3] == [(3, "de"), (3, "en"), (3, "fr")]
    assert ranked[3:] == [(7, "en"), (5, "de"), (9, "fr")]
    assert _ranking(by_language, paragraph, 4)[-1] == (7, "en")
    assert _ranking({}, paragraph, 12) == []
