"""Keyword indexes (SQLite FTS5, PostgreSQL full-text): segmentation, query parsing, filters, deletes."""

from __future__ import annotations

import numpy as np
import pytest

from indexer.store import create_store
from indexer.store.fts import match_expression
from indexer.store.fts_pg import tsquery, tsvector
from indexer.store.keywords import fold, has_phrases, parse, segment, tokens
from indexer.store.records import NewChunk
from indexer.types import LoadedDocument


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Karsk dam", "Karsk dam"),
        ("大坝溃决", " 大  坝  溃  决 "),
        ("เขื่อนแตก", " เ  ข  ื  ่  อ  น  แ  ต  ก "),
        ("ダムが決壊", " ダ  ム  が 決  壊 ".replace("が 決", "が  決")),
    ],
)
def test_segment_splits_only_scripts_without_spaces(text: str, expected: str) -> None:
    assert segment(text) == expected


@pytest.mark.parametrize(
    "query, expression, phrases",
    [
        ("dam rain", '"dam" OR "rain"', False),
        ('"Selene-3" rover', '"Selene 3" AND ("Selene 3" OR "rover")', True),
        ("大坝", '"大 坝"', False),
        ("大坝溃决", '"大 坝" OR "坝 溃" OR "溃 决"', False),
        ('"; DROP TABLE chunks; --', '"DROP" OR "TABLE" OR "chunks"', False),
        ("?!", "", False),
    ],
)
def test_match_expression_quotes_every_term(query: str, expression: str, phrases: bool) -> None:
    assert match_expression(query) == expression
    assert has_phrases(query) is phrases


def test_words_keep_their_combining_marks() -> None:
    # Vowel signs and harakat are marks, not letters: a word must not break at them.
    assert tokens("हिंदी भाषा, مُحَمَّد and café") == ["हिंदी", "भाषा", "مُحَمَّد", "and", "café"]
    assert parse("भाषा").terms == (("भाषा",),)


def test_folding_drops_latin_accents_only() -> None:
    assert [fold(w) for w in ("Café", "NAÏVE", "Straße", "हिंदी", "Москва")] == [
        "cafe", "naive", "strasse", "हिंदी", "москва"]


def test_postgres_literals_quote_every_word() -> None:
    assert tsvector("it's Dam dam") == "'it':1 's':2 'dam':3,4"
    assert tsquery(parse('"Selene-3" rover')) == ("('selene' <-> '3')", "('selene' <-> '3') | ('rover')")
    assert tsquery(parse("大坝 dam")) == ("('大' <-> '坝') | ('dam')", "('大' <-> '坝') | ('dam')")
    assert tsquery(parse("?!")) == ("", "")


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    else:
        url = request.getfixturevalue("postgres_url")
    store = create_store(url)
    cid = store.ensure_collection("c")
    for text, lang in [("The Karsk dam failed after 212 mm of rain.", "en"), ("喀尔斯克大坝在暴雨后溃决。", "zh"),
                       ("Selene-3 landed near the south pole.", "en"), ("เขื่อนแตกหลังฝนตกหนัก", "th"),
                       ("बाँध टूटने के बाद हिंदी अख़बारों ने लिखा।", "hi"), ("Le barrage a cédé à Évian.", "fr")]:
        chunk = NewChunk(0, text, 0, len(text), lang, 5, np.ones(4, np.float32).tobytes())
        store.add_document(cid, LoadedDocument(text, text[:10], "f.txt", "text/plain"), text, lang, [chunk])
    yield store
    store.close()


@pytest.mark.parametrize(
    "query, languages, expected",
    [
        ("dam rain", None, [1]),
        ("大坝", None, [2]),
        ("暴雨 溃决", ["zh"], [2]),
        ("为什么大坝在暴雨后溃决", None, [2]),
        ("เขื่อน", None, [4]),
        ('"south pole"', None, [3]),
        ('"north pole"', None, []),
        ("212", None, [1]),
        ("dam", ["zh"], []),
        ("हिंदी", None, [5]),
        ("evian CEDE", None, [6]),
        ('"a cédé" barrage', ["fr"], [6]),
    ],
)
def test_keyword_search_finds_words_in_any_script(store, query: str, languages, expected: list[int]) -> None:
    assert [i for i, _ in store.keyword_search(query, 10, languages=languages)] == expected


def test_deleted_chunks_leave_the_keyword_index(store) -> None:
    store.delete_document(1)
    assert store.keyword_search("dam", 10) == []
    store.delete_collection("c")
    assert store.keyword_search("Selene", 10) == []


def test_words_in_most_chunks_of_a_large_collection_are_left_out(tmp_path, monkeypatch) -> None:
    from indexer.store import fts

    store = create_store(f"sqlite:///{tmp_path / 'db.sqlite'}")
    cid = store.ensure_collection("c")
    texts = [f"The report number {n} of the committee." for n in range(60)]
    texts += ["The Panthers defense gave up 308 points.", "हिंदी अख़बारों ने लिखा हिंदी"]
    for text in texts:
        chunk = NewChunk(0, text, 0, len(text), "en", 5, np.ones(4, np.float32).tobytes())
        store.add_document(cid, LoadedDocument(text, text[:10], "f.txt", "text/plain"), text, "en", [chunk])
    # Small collections search every word (COMMON_MIN); lowered here so that this one counts as large.
    assert len(store.keyword_search("the committee", 100)) == 61
    monkeypatch.setattr(fts, "COMMON_MIN", 10)
    with store.engine.connect() as conn:
        common = fts._common_terms(conn, parse("the Panthers committee points हिंदी").terms)
    assert common == {("the",), ("committee",)}
    assert [i for i, _ in store.keyword_search("the Panthers committee", 100)] == [61]
    assert store.keyword_search("the committee", 100) == []  # common words only: the dense ranking answers alone
    assert len(store.keyword_search('"the committee"', 100)) == 60  # a quoted phrase still must match
    # FTS5 cuts Devanagari words at their vowel signs: a word costs what its pieces cost.
    assert fts._fts_tokens("हिंदी") == ["ह", "द"]
    store.close()
