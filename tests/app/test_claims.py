"""Which queries are claims (reordered by NLI) and which are questions or keywords (vector order kept)."""

from __future__ import annotations

import pytest

from app.claims import CLAIM, KEYWORDS, QUESTION, is_claim, query_kind


@pytest.mark.parametrize(
    "query",
    [
        "The dam collapsed after days of heavy rain.",
        "The mayor resigned in March",
        "Der Staudamm brach nach tagelangem Regen.",
        "Плотина прорвалась после сильных дождей.",
        "Le barrage a cédé après trois jours de pluie.",
        "انهار السد بعد أيام من الأمطار الغزيرة.",
        "大坝在连日暴雨后决堤。",
        "Bruce apologised.",
        "Ce matin, le maire a démissionné.",
    ],
)
def test_statements_are_claims(query: str) -> None:
    assert query_kind(query) == CLAIM
    assert is_claim(query)


@pytest.mark.parametrize(
    "query",
    [
        "When did the dam collapse?",
        "who resigned in March",
        "Wann brach der Staudamm",
        "Почему прорвалась плотина?",
        "Πότε κατέρρευσε το φράγμα;",
        "متى انهار السد؟",
        "大坝是什么时候决堤的",
        "¿Cuándo se rompió la presa?",
        "Name the river that flooded the town.",
        "Nennen Sie einen Grund für die Flut.",
        "Barajın yıkılma nedeni nedir?",
    ],
)
def test_questions_and_instructions_are_questions(query: str) -> None:
    assert query_kind(query) == QUESTION
    assert not is_claim(query)


@pytest.mark.parametrize("query", ["dam collapse", "flood Passau 2013", "Staudamm", "大坝", "   "])
def test_a_few_words_are_keywords(query: str) -> None:
    assert query_kind(query) == KEYWORDS
