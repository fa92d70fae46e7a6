"""AppTest checks of the Search page's options: language balance, hybrid, NLI stance, facets, "More like this", export.

The fake service answers the search options; one test runs the real service with the tiny model.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from fakes import TEXTS, WHEN, FakeService
from streamlit.testing.v1 import AppTest

from app.export import to_csv, to_json
from app.ui.facets import facet_label
from app.ui.options import several_languages
from app.ui.result_card import stance_badge
from indexer.store.records import CollectionInfo

FLAGS = ("balanced", "hybrid", "other_languages", "rerank", "stance")


def _markdown(at: AppTest) -> str:
    return "\n".join(str(m.value) for m in at.markdown)


def _result_captions(at: AppTest) -> list[str]:
    return [str(c.value) for c in at.caption if "score" in str(c.value)]


def _last_search(service: FakeService) -> dict:
    return [c for c in service.calls if c[0] == "search"][-1][2]


def _search(open_page: Callable[..., AppTest], service: FakeService, query: str = "flood", **toggles: bool) -> AppTest:
    at = open_page("search", service)
    at.text_input(key="query").input(query)
    for key, value in toggles.items():
        at.toggle(key=key).set_value(value)
    return at.run()


# --- options ------------------------------------------------------------------------------------------


def test_balance_is_on_for_a_multilingual_collection(open_page: Callable[..., AppTest], fake: FakeService) -> None:
    at = _search(open_page, fake)
    assert not at.exception
    assert at.toggle(key="balanced").value is True and _last_search(fake)["balanced"] is True


def test_balance_is_off_for_a_one_language_collection(open_page: Callable[..., AppTest]) -> None:
    service = FakeService(docs={1: TEXTS[1]})
    at = _search(open_page, service)
    assert not at.exception
    assert at.toggle(key="balanced").value is False and _last_search(service)["balanced"] is False


def test_the_users_balance_choice_is_kept(open_page: Callable[..., AppTest], fake: FakeService) -> None:
    at = _search(open_page, fake, balanced=False)
    at.text_input(key="query").input("flood in town").run()
    assert at.toggle(key="balanced").value is False and _last_search(fake)["balanced"] is False


@pytest.mark.parametrize(
    ("chosen", "several"),
    [(None, True), (["de-only"], False), (["de-only", "ar-only"], True), (["mixed"], False)],
)
def test_several_languages_counts_the_searched_collections(chosen: list[str] | None, several: bool) -> None:
    collections = [
        CollectionInfo(1, "de-only", "", WHEN, 1, 3, {"de": 3}),
        CollectionInfo(2, "ar-only", "", WHEN, 1, 2, {"ar": 2}),
        CollectionInfo(3, "mixed", "", WHEN, 2, 4, {"en": 4, "unknown": 1, "fr": 0}),
    ]
    assert several_languages(collections, chosen) is several


def test_toggles_reach_the_service(open_page: Callable[..., AppTest], fake: FakeService) -> None:
    at = _search(open_page, fake, balanced=False, hybrid=True, other_languages=True, stance=True, rerank=True)
    assert not at.exception
    assert {flag: _last_search(fake)[flag] for flag in FLAGS} == {
        "balanced": False, "hybrid": True, "other_languages": True, "stance": True, "rerank": True
    }  # fmt: skip
    hybrid_help = next(t for t in at.toggle if t.key == "hybrid").help
    assert "Quoted phrases" in hybrid_help and "literally" in hybrid_help


# --- language facets ----------------------------------------------------------------------------------


def test_facets_show_counts_and_filter_by_language(open_page: Callable[..., AppTest], fake: FakeService) -> None:
    at = _search(open_page, fake)
    facets = at.pills(key="facet_language")
    assert facets.options == ["German · 4", "Arabic · 2", "English · 1"]  # by count
    facets.set_value("ar").run()
    assert not at.exception
    assert _last_search(fake)["languages"] == ["ar"]
    captions = _result_captions(at)
    assert len(captions) == 1 and "Arabic (ar)" in captions[0]
    # The counts over every language stay, to switch language or clear the choice.
    assert at.pills(key="facet_language").options == ["German · 4", "Arabic · 2", "English · 1"]
    at.button(key="facet_clear").click().run()
    assert _last_search(fake)["languages"] is None and len(_result_captions(at)) == 3
    assert at.pills(key="facet_language").value is None


def test_a_new_query_clears_the_facet(open_page: Callable[..., AppTest], fake: FakeService) -> None:
    at = _search(open_page, fake)
    at.pills(key="facet_language").set_value("de").run()
    assert _last_search(fake)["languages"] == ["de"]
    at.text_input(key="query").input("a different question").run()
    assert _last_search(fake)["languages"] is None and len(_result_captions(at)) == 3


@pytest.mark.parametrize(
    ("code", "count", "label"),
    [("de", 4, "German · 4"), ("ru", 0, ":gray[Russian · 0]"), ("unknown", 1_200, "unknown language · 1,200")],
)
def test_facet_labels(code: str, count: int, label: str) -> None:
    assert facet_label(code, count) == label


# --- stance -------------------------------------------------------------------------------------------


def test_stance_badges_with_probabilities(open_page: Callable[..., AppTest], fake: FakeService) -> None:
    at = _search(open_page, fake, stance=True)
    assert not at.exception
    shown = _markdown(at)
    for badge in (":green-badge[supports · 91 %]", ":red-badge[contradicts · 97 %]", ":blue-badge[neutral · 80 %]"):
        assert badge in shown
    assert "badge" not in _markdown(_search(open_page, FakeService()))  # no stance check, no badge


def test_stance_is_off_by_default_and_unclear_has_no_number(
    open_page: Callable[..., AppTest], fake: FakeService
) -> None:
    # Off until NLI scoring fits the latency budget (BENCHMARKS.md, NLI latency).
    at = _search(open_page, fake)
    assert at.toggle(key="stance").value is False and at.toggle(key="rerank").value is False
    assert _last_search(fake)["stance"] is False and "badge" not in _markdown(at)
    unclear = replace(fake._result(1, 1, "flood"), stance="unclear", p_entail=0.4, p_neutral=0.35, p_contradict=0.25)
    assert stance_badge(unclear) == ":gray-badge[unclear]"


def test_rerank_shows_the_services_order(open_page: Callable[..., AppTest], fake: FakeService) -> None:
    at = _search(open_page, fake, query="The flood reached the old town.", rerank=True)
    captions = _result_captions(at)
    assert "Arabic (ar)" in captions[0] and "German (de)" in captions[1]


def test_stance_filter_hides_other_stances(open_page: Callable[..., AppTest], fake: FakeService) -> None:
    at = _search(open_page, fake)
    assert at.multiselect(key="stance_filter").disabled  # nothing to filter before the stance check
    at.toggle(key="stance").set_value(True).run()
    at.multiselect(key="stance_filter").set_value(["contradicts"]).run()
    assert not at.exception
    captions = _result_captions(at)
    assert len(captions) == 1 and "Arabic (ar)" in captions[0]
    assert "1 of 3 passages shown" in at.caption[0].value
    at.multiselect(key="stance_filter").set_value(["contradicts", "supports"]).run()
    assert len(_result_captions(at)) == 2


def test_missing_nli_model_is_an_error_not_a_crash(open_page: Callable[..., AppTest]) -> None:
    service = FakeService(nli_available=False)
    at = _search(open_page, service, rerank=True)
    assert not at.exception
    assert "NLI model has no weights" in at.error[0].value
    assert "without stance labels" in at.info[0].value
    assert len(_result_captions(at)) == 3 and "badge" not in _markdown(at)  # the search itself still works


# --- more like this -----------------------------------------------------------------------------------


def test_more_like_this_and_back(open_page: Callable[..., AppTest], fake: FakeService) -> None:
    at = _search(open_page, fake)
    at.button(key="similar_1").click().run()
    assert not at.exception
    assert ("similar", (1,), {"k": 10, "balanced": True}) in fake.calls
    assert at.subheader[0].value == "More like \u2068Hochwasser\u2069"
    captions = _result_captions(at)
    assert len(captions) == 2 and "Arabic (ar)" in captions[0] and "English (en)" in captions[1]
    assert "document in German (de)" in at.caption[1].value
    at.button(key="similar_back").click().run()
    assert not at.subheader and len(_result_captions(at)) == 3


def test_a_new_query_leaves_more_like_this(open_page: Callable[..., AppTest], fake: FakeService) -> None:
    at = _search(open_page, fake)
    at.button(key="similar_2").click().run()
    at.text_input(key="query").input("fire").run()
    assert not at.subheader and _last_search(fake)["k"] == 10 and len(_result_captions(at)) == 3


# --- export -------------------------------------------------------------------------------------------


@pytest.fixture
def exported(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """What the download buttons got, by format (the last one drawn)."""
    files: dict[str, str] = {}
    monkeypatch.setattr("app.ui.downloads.to_csv", lambda r: files.__setitem__("csv", to_csv(r)) or files["csv"])
    monkeypatch.setattr("app.ui.downloads.to_json", lambda r: files.__setitem__("json", to_json(r)) or files["json"])
    return files


def test_downloads_hold_the_results_shown(
    open_page: Callable[..., AppTest], fake: FakeService, exported: dict[str, str]
) -> None:
    at = _search(open_page, fake, stance=True)
    assert not at.exception
    assert at.download_button(key="download_csv").label == "CSV"
    assert at.download_button(key="download_json").label == "JSON"
    assert "Das Hochwasser überflutete die Altstadt" in exported["csv"] and "contradicts" in exported["csv"]
    results = json.loads(exported["json"])[0]["results"]
    assert [r["language"] for r in results] == ["de", "ar", "en"] and results[0]["stance"] == "supports"
    at.multiselect(key="stance_filter").set_value(["supports"]).run()
    assert [r["stance"] for r in json.loads(exported["json"])[0]["results"]] == ["supports"]


def test_more_like_this_can_be_downloaded(
    open_page: Callable[..., AppTest], fake: FakeService, exported: dict[str, str]
) -> None:
    at = _search(open_page, fake)
    at.button(key="similar_1").click().run()
    assert [r["document_id"] for r in json.loads(exported["json"])[0]["results"]] == [2, 3]


# --- the real service with the tiny model -------------------------------------------------------------

GERMAN = "Das Hochwasser hat am Montag die Altstadt überflutet und viele Keller stehen unter Wasser."
RUSSIAN = "# Наводнение\n\nНаводнение затопило центр города, жителей эвакуировали на лодках."
ENGLISH = "The recipe needs flour, water, salt and a little yeast; the dough rests overnight."


def test_real_hybrid_quoted_phrase_keeps_only_matching_passages(
    open_page: Callable[..., AppTest], tiny_service, tmp_path: Path
) -> None:
    pairs = []
    for n, (name, text) in enumerate({"de.txt": GERMAN, "ru.md": RUSSIAN, "en.txt": ENGLISH}.items()):
        pairs.append((tmp_path / f"{n}-{name}", name))
        pairs[-1][0].write_text(text, encoding="utf-8")
    assert not tiny_service.ingest_files(pairs, "news").failed
    at = open_page("search", tiny_service, timeout=60)
    at.text_input(key="query").input('flood "Keller stehen"').run()
    assert not at.exception and len(_result_captions(at)) == 3  # by meaning alone: every passage
    at.toggle(key="hybrid").set_value(True).run()
    assert not at.exception
    captions = _result_captions(at)
    assert len(captions) == 1 and "de\\.txt" in captions[0]
    assert ":orange-background[**Keller**] :orange-background[**stehen**]" in _markdown(at)
