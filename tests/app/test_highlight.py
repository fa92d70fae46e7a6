"""Highlights mark content words, names and numbers in every script, never stop words."""

from __future__ import annotations

import pytest

from app.highlight import highlight_spans, stop_words


def _marked(
    text: str, query: str, query_language: str | None = None, passage_language: str | None = None
) -> list[str]:
    return [text[s:e] for s, e in highlight_spans(text, query, query_language, passage_language)]


def test_english_stop_words_are_not_marked() -> None:
    text = "The dam collapsed after the heavy rain and the villages were evacuated."
    marked = _marked(text, "The dam collapsed after heavy rain and villages were evacuated.", "en", "en")
    assert marked == ["dam", "collapsed", "heavy", "rain", "villages", "evacuated"]


@pytest.mark.parametrize(("text", "query", "lang", "expected"), [
    ("Der Damm brach nach dem Regen, und das Tal wurde überflutet.", "Warum brach der Damm nach dem Regen?", "de",
     ["Damm", "brach", "Regen"]),
    ("Плотина Карск прорвалась после сильных дождей.", "Почему прорвалась плотина Карск?", "ru",
     ["Плотина", "Карск", "прорвалась"]),
    ("卡尔斯克大坝在暴雨后溃决，山谷被洪水淹没。", "大坝为什么溃决了？洪水", "zh", ["大坝", "溃决", "洪水"]),
    ("बांध भारी बारिश के बाद टूट गया", "बांध क्यों टूट गया", "hi", ["बांध", "टूट"]),
    ("เขื่อนแตกหลังฝนตกหนัก", "เขื่อนแตก", "th", ["เขื่อนแตก"]),
])  # fmt: skip
def test_content_words_in_every_script(text: str, query: str, lang: str, expected: list[str]) -> None:
    assert _marked(text, query, lang, lang) == expected


def test_other_language_passage_marks_names_and_numbers_only() -> None:
    text = "Hochwasser in Passau: 2013 stand das Wasser in der Altstadt, die Feuerwehr kam mit Booten."
    query = "residents of the flooded old town of Passau were rescued by boat in 2013, in the old town"
    assert _marked(text, query, "en", "de") == ["Passau", "2013"]


def test_unknown_query_language_uses_every_stop_list() -> None:
    # "in" and "der" are stop words in some language: with the query's language unknown, neither is marked.
    assert _marked("Wasser in der Altstadt", "Altstadt in der", None, None) == ["Altstadt"]


def test_numbers_and_identifiers_are_always_marked() -> None:
    assert _marked("Case KX-4471 was filed in 1998.", "KX-4471 1998", "en", "en") == ["KX", "4471", "1998"]


def test_stop_words_lists() -> None:
    assert "the" in stop_words("en") and "water" not in stop_words("en")
    assert "und" in stop_words("de") and stop_words("xx") == frozenset()
    assert {"the", "und"} <= stop_words(None)
