"""The small-collection case: one flood report among unrelated documents, searched in another language.

Relevant passages come first in every mode, unrelated ones never outrank them, and the facets count the
relevant German passages (z-scores over a handful of passages need the small-collection floor).
"""

from __future__ import annotations

import pytest

from app.service import QueryError, SearchService

pytestmark = pytest.mark.model

QUERY = "residents of the flooded old town of Passau were rescued by boat"
# The browser test's documents: a German flood report, the others on unrelated topics.
DOCUMENTS = {
    "hochwasser-passau.txt": "Hochwasser in Passau\n\n"
    "Der Wetterdienst hatte schon am Donnerstag vor Dauerregen im Bayerischen Wald gewarnt. Bis Sonntag fielen "
    "dort mehr als hundertfünfzig Liter Regen pro Quadratmeter, und die Pegel von Donau, Inn und Ilz stiegen "
    "stündlich. Die Stadt ließ Sandsäcke an die Bewohner der Uferstraßen verteilen, Schulen blieben geschlossen "
    "und die Parkhäuser an der Donaulände wurden geräumt. Viele Geschäftsleute trugen ihre Waren in die oberen "
    "Stockwerke, weil sie sich noch gut an frühere Jahre erinnerten.\n\n"
    "In der Nacht zum Montag trat der Fluss über die Ufer. Das Wasser stand in den Gassen der Passauer Altstadt "
    "einen Meter hoch, Keller liefen voll und die Feuerwehr brachte Anwohner mit Booten in Sicherheit. Ältere "
    "Menschen wurden aus den Erdgeschossen geholt, ein Pflegeheim wurde vollständig evakuiert. Die Brücken "
    "blieben zwei Tage gesperrt, und der Strom in der Innenstadt wurde vorsorglich abgeschaltet.\n\n"
    "Als das Wasser zurückging, begannen die Aufräumarbeiten. Freiwillige aus der ganzen Region schaufelten "
    "Schlamm aus den Häusern, Handwerker prüften die Heizungen und die Stadtwerke untersuchten das "
    "Trinkwasser. Die Versicherungen rechnen mit Schäden in Millionenhöhe; der Stadtrat will nun über höhere "
    "Schutzmauern entlang der Donau beraten.",
    "шахматы.md": "# Шахматный турнир\n\nВ субботу в городской библиотеке прошёл детский шахматный турнир. "
    "Победила девятилетняя ученица, которая выиграла все семь партий.",
    "茶叶.txt": "春茶采摘\n\n四月初，山上的茶园开始采摘春茶。茶农清晨上山，只采一芽一叶，当天下午就在村里炒制。",
    "الطاقة-الشمسية.md": "# محطة الطاقة الشمسية\n\nافتتحت في الصحراء محطة جديدة للطاقة الشمسية تزود عشرين ألف منزل "
    "بالكهرباء، وتعمل ألواحها على تتبع حركة الشمس طوال اليوم.",
    "recette.txt": 'Pain au levain <script>window.__xss = 1</script> <img src=x onerror="window.__xss=2">\n\n'
    "Mélanger la farine, l'eau et le sel, laisser reposer la pâte toute une nuit puis cuire **très chaud**.",
}


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory, real_embedder) -> SearchService:
    from indexer.config import load_settings

    folder = tmp_path_factory.mktemp("passau-docs")
    for name, text in DOCUMENTS.items():
        (folder / name).write_text(text, encoding="utf-8")
    service = SearchService(load_settings(str(tmp_path_factory.mktemp("passau-home")), environ={}), real_embedder)
    assert len(service.ingest([folder], "field-reports").added) == len(DOCUMENTS)
    yield service
    service.close()


@pytest.mark.parametrize("options", [{}, {"balanced": True}, {"hybrid": True}, {"balanced": True, "hybrid": True}])
def test_relevant_passages_first_and_counted(service: SearchService, options: dict) -> None:
    response = service.search(QUERY, k=10, **options)
    sources = [r.source_name for r in response.results]
    relevant = [n for n, name in enumerate(sources) if name == "hochwasser-passau.txt"]
    assert relevant == list(range(len(relevant))) and relevant, sources  # no unrelated passage above a relevant one
    assert response.language_counts["de"] >= 1
    assert all(n == 0 for lang, n in response.language_counts.items() if lang != "de"), response.language_counts


def test_highlights_mark_the_name_not_stop_words(service: SearchService) -> None:
    top = service.search(QUERY, k=1, balanced=True).results[0]
    assert {top.text[s:e] for s, e in top.highlights} <= {"Passau"}


def test_unknown_language_code_names_the_codes_held(service: SearchService) -> None:
    with pytest.raises(QueryError, match=r"'qq'.*hold: ar, de, fr, ru, zh"):
        service.search(QUERY, languages=["qq"])
    assert service.search(QUERY, languages=["DE"]).results[0].language == "de"


def test_sample_collection_facets_count_the_dam_reports(sample_service: SearchService) -> None:
    query = "The dam collapsed after heavy rain and villages were evacuated."
    response = sample_service.search(query, k=12, balanced=True)
    sources = [r.source_name for r in response.results]
    # Dam reports first, in many of their 8 languages, before any other topic.
    assert all(name.startswith("dam-failure") for name in sources[:8]), sources
    assert len({r.language for r in response.results[:8]}) >= 5
    counts = response.language_counts
    assert counts["en"] >= 1 and sum(1 for n in counts.values() if n) >= 5, counts
    assert sample_service.search(query, k=12).language_counts == counts  # one notion of relevance in every mode
