"""AppTest checks of every page: smoke tests on a fake service, then the real service with the tiny model."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from fakes import TRICKY, FakeService, queued_job, running_job
from streamlit.testing.v1 import AppTest

PAGES = ["search", "collections", "upload", "jobs", "status"]
GOOD_TXT = "Das Hochwasser hat am Montag die Altstadt überflutet und viele Keller stehen unter Wasser."
GOOD_MD = "# Наводнение\n\nНаводнение затопило центр города, жителей эвакуировали на лодках."
OTHER_TXT = "The recipe needs flour, water, salt and a little yeast; the dough rests overnight."


def _markdown(at: AppTest) -> str:
    return "\n".join(str(m.value) for m in at.markdown)


def _result_captions(at: AppTest) -> list[str]:
    return [str(c.value) for c in at.caption if "score" in str(c.value)]


# --- every page on the fake service -----------------------------------------------------------------


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("empty", [False, True])
def test_every_page_renders(open_page: Callable[..., AppTest], page: str, empty: bool) -> None:
    at = open_page(page, FakeService(empty=empty))
    assert not at.exception
    assert at.title[0].value == page.title()


def test_empty_index_points_to_upload(open_page: Callable[..., AppTest]) -> None:
    at = open_page("search", FakeService(empty=True))
    assert "index is empty" in at.info[0].value
    assert not at.text_input  # no query box before there is anything to search


def test_empty_query_says_what_to_do(open_page: Callable[..., AppTest], fake: FakeService) -> None:
    at = open_page("search", fake)
    assert "Type a question" in at.info[0].value
    assert not [c for c in fake.calls if c[0] == "search"]


def test_search_shows_results_with_time_and_languages(open_page: Callable[..., AppTest], fake: FakeService) -> None:
    at = open_page("search", fake)
    at.text_input(key="query").input("flood").run()
    assert not at.exception
    assert "3 passages in 12 ms" in at.caption[0].value
    captions = _result_captions(at)
    assert len(captions) == 3 and "German (de)" in captions[0] and "Arabic (ar)" in captions[1]
    assert ":orange-background[**flood**]" in _markdown(at)


def test_filters_reach_the_service(open_page: Callable[..., AppTest], fake: FakeService) -> None:
    at = open_page("search", fake)
    at.text_input(key="query").input("flood")
    at.multiselect(key="filter_languages").set_value(["ar"])
    at.multiselect(key="filter_types").set_value(["Plain text (.txt)"])
    at.slider(key="k").set_value(5)
    at.run()
    assert not at.exception
    search = [c for c in fake.calls if c[0] == "search"][-1][2]
    assert search == {"k": 5, "collections": None, "languages": ["ar"], "mimes": ["text/plain"], "balanced": True,
                      "hybrid": False, "other_languages": False, "rerank": False, "stance": False}  # fmt: skip
    assert len(_result_captions(at)) == 1


def test_no_results_says_what_to_do(open_page: Callable[..., AppTest], fake: FakeService) -> None:
    at = open_page("search", fake)
    at.text_input(key="query").input("flood")
    at.multiselect(key="filter_types").set_value(["PDF (.pdf)"])
    at.run()
    assert "No passage matches these filters" in at.warning[0].value


def test_markup_in_documents_and_names_is_shown_as_text(open_page: Callable[..., AppTest], fake: FakeService) -> None:
    at = open_page("search", fake)
    at.text_input(key="query").input("flood").run()
    at.button(key="open_3").click().run()
    assert not at.exception
    shown = _markdown(at) + "\n".join(str(c.value) for c in at.caption)
    for raw in ("<script>", "<b>", "<i>", "**bold**", "[link](x)", "$math$", ":red[x]"):
        assert raw not in shown
    assert "\\<script\\>alert\\(1\\)\\<\\/script\\>" in shown and "#### \u2068\\<b\\>Tricky\\<\\/b\\>\u2069" in shown


def test_delete_document_needs_confirmation(open_page: Callable[..., AppTest], fake: FakeService) -> None:
    at = open_page("collections", fake)
    at.selectbox(key="browse_document").set_value(1).run()
    at.button(key="delete_document").click().run()
    assert "cannot be undone" in at.warning[0].value
    assert not [c for c in fake.calls if c[0] == "delete_document"]
    at.button(key="cancel_delete").click().run()
    assert not at.warning and 1 in fake.docs
    at.button(key="delete_document").click().run()
    at.button(key="confirm_delete").click().run()
    assert not at.exception
    assert ("delete_document", (1,), {}) in fake.calls
    assert "Deleted the document" in at.success[0].value


def test_delete_collection_needs_confirmation(open_page: Callable[..., AppTest], fake: FakeService) -> None:
    at = open_page("collections", fake)
    at.button(key="delete_collection").click().run()
    assert not [c for c in fake.calls if c[0] == "delete_collection"]
    at.button(key="confirm_delete").click().run()
    assert ("delete_collection", ("news",), {}) in fake.calls
    assert "There are no collections yet" in at.info[0].value


def test_upload_enqueues_a_job_and_shows_its_report(open_page: Callable[..., AppTest], fake: FakeService) -> None:
    at = open_page("upload", fake)
    uploader = at.file_uploader(key="upload_files_0")
    uploader.upload("../../evil name.TXT", b"hello", "text/plain").upload("scan.pdf", b"%PDF-broken")
    at.run()
    at.button(key="ingest").click().run()
    assert not at.exception
    (received, collection), _ = [c[1:] for c in fake.calls if c[0] == "enqueue_upload"][0]
    assert collection == "news"
    assert received == [("../../evil name.TXT", b"hello"), ("scan.pdf", b"%PDF-broken")]
    assert at.query_params["job"] == "1"  # a reload shows the same job
    report = at.table[0].value
    assert list(report["Status"]) == ["added", "failed"] and report["Reason"][1] == "cannot read"
    assert list(report["File"]) == ["\\.\\.\\/\\.\\.\\/evil name\\.TXT", "scan\\.pdf"]  # escaped Markdown
    # The old uploader (holding the bytes) is gone; a fresh, empty one replaces it.
    assert [u.key for u in at.file_uploader] == ["upload_files_1"]


def test_naming_a_new_collection_keeps_the_uploader_in_its_place(open_page: Callable[..., AppTest]) -> None:
    # The rerun that commits the typed name must not move the uploader: a widget that changes place is remounted in
    # the browser, and files still uploading are dropped.
    def uploader_place(at: AppTest) -> list[int]:
        return [i for i, node in at.main.children.items() if getattr(node, "type", "") == "file_uploader"]

    at = open_page("upload", FakeService(empty=True))
    before = uploader_place(at)
    assert "Name the new collection to enable ingest." in [str(c.value) for c in at.caption]
    at.text_input(key="new_collection").input("field-reports").run()
    assert not at.exception and "Name the new collection to enable ingest." not in [str(c.value) for c in at.caption]
    assert before and uploader_place(at) == before


def test_jobs_page_lists_every_job_and_cancels_a_running_one(
    open_page: Callable[..., AppTest], fake: FakeService
) -> None:
    fake.jobs_made[7] = running_job(7)
    at = open_page("jobs", fake)
    assert not at.exception
    table = at.dataframe[0].value
    assert list(table["Job"]) == [7] and list(table["State"]) == ["running"]
    assert table["Collection"][0] == "news <i>"  # a data frame shows text, never Markdown or HTML
    shown = _markdown(at) + "\n".join(str(p.proto.text) for p in at.get("progress"))
    assert "<b>" not in shown and "**x**" not in shown and "\\<b\\>evil" in shown
    assert "1/2 files" in shown and "12.5 passages/s" in shown and "0:00:30 left" in shown
    at.button(key="jobs_cancel_7").click().run()
    assert ("cancel_job", (7,), {}) in fake.calls
    assert at.button(key="jobs_cancel_7").disabled


def test_a_job_nobody_takes_says_to_start_a_worker(open_page: Callable[..., AppTest], fake: FakeService) -> None:
    fake.jobs_made[3] = queued_job(3)
    at = open_page("jobs", fake)
    assert not at.exception
    assert "No worker has taken this job yet" in at.info[0].value and "babelsearch worker" in at.info[0].value


def test_status_lists_model_and_errors(open_page: Callable[..., AppTest], fake: FakeService) -> None:
    at = open_page("status", fake)
    facts = dict(zip(at.table[0].value["Setting"], at.table[0].value["Value"]))
    assert facts["Model fingerprint"] == "abc123" and facts["Embedding dimension"] == "384"
    assert facts["Database"] == "sqlite\\:\\/\\/\\/tmp\\/x\\.db"  # st.table cells are Markdown: escaped
    assert list(at.table[1].value["File"]) == ["broken \\<b\\>\\.pdf"]


def test_the_entry_script_opens_the_search_page(monkeypatch: pytest.MonkeyPatch, fake: FakeService) -> None:
    monkeypatch.setattr("app.ui.pages.get_service", lambda: fake)
    at = AppTest.from_file(str(Path(__file__).parents[2] / "streamlit_app.py")).run()
    assert not at.exception and at.title[0].value == "Search"


# --- the real service with the tiny model -------------------------------------------------------------


def _ingest(service, tmp_path: Path, collection: str, files: dict[str, str]) -> None:
    pairs = []
    for n, (name, text) in enumerate(files.items()):
        path = tmp_path / f"{n}-{name}"
        path.write_text(text, encoding="utf-8")
        pairs.append((path, name))
    report = service.ingest_files(pairs, collection)
    assert not report.failed, report.failed


def test_real_search_and_language_filter(open_page: Callable[..., AppTest], tiny_service, tmp_path: Path) -> None:
    _ingest(tiny_service, tmp_path, "news", {"de.txt": GOOD_TXT, "ru.md": GOOD_MD, "en.txt": OTHER_TXT})
    at = open_page("search", tiny_service, timeout=60)
    at.text_input(key="query").input("flood in the old town").run()
    assert not at.exception
    assert len(_result_captions(at)) == 3
    at.multiselect(key="filter_languages").set_value(["de"]).run()
    captions = _result_captions(at)
    assert len(captions) == 1 and "German (de)" in captions[0] and "de\\.txt" in captions[0]


def test_real_upload_spools_a_job_that_a_worker_runs(open_page: Callable[..., AppTest], tiny_service) -> None:
    from indexer.jobs import run_job
    from indexer.store.jobs import JobStore

    at = open_page("upload", tiny_service, timeout=60)
    at.text_input(key="new_collection").input("reports")
    at.file_uploader(key="upload_files_0").upload("hochwasser.txt", GOOD_TXT.encode()).upload(
        "flut.md", GOOD_MD.encode()
    ).upload("scan.pdf", b"%PDF-1.4 this is not really a pdf")
    at.run()
    at.button(key="ingest").click().run()
    assert not at.exception
    job_id = int(at.query_params["job"])
    assert tiny_service.job(job_id).state == "queued" and tiny_service.count_documents() == 0
    assert "queued" in _markdown(at)
    spool = tiny_service.job_manager.spool
    assert sorted(p.name for p in spool.folder(job_id).iterdir()) == ["00000.txt", "00001.md", "00002.pdf"]

    run_job(job_id, tiny_service.indexer, JobStore(tiny_service.store), spool, "test:1")
    at.run()
    report = at.table[0].value
    assert list(report["File"]) == ["hochwasser\\.txt", "flut\\.md", "scan\\.pdf"]  # escaped Markdown
    assert list(report["Status"]) == ["added", "added", "failed"] and report["Reason"][2]
    assert "1 failed" in at.warning[0].value
    assert tiny_service.count_documents("reports") == 2
    assert not spool.folder(job_id).exists()  # spooled copies are gone once the job is done


def test_real_delete_asks_first(open_page: Callable[..., AppTest], tiny_service, tmp_path: Path) -> None:
    _ingest(tiny_service, tmp_path, "news", {"de.txt": GOOD_TXT, "en.txt": OTHER_TXT})
    doc_id = tiny_service.documents("news")[0].id
    at = open_page("collections", tiny_service, timeout=60)
    at.selectbox(key="browse_document").set_value(doc_id).run()
    at.button(key="delete_document").click().run()
    assert "cannot be undone" in at.warning[0].value and tiny_service.count_documents("news") == 2
    at.button(key="confirm_delete").click().run()
    assert not at.exception
    assert tiny_service.count_documents("news") == 1
    assert "Deleted the document" in at.success[0].value


def test_real_script_tag_is_text(open_page: Callable[..., AppTest], tiny_service, tmp_path: Path) -> None:
    _ingest(tiny_service, tmp_path, "news", {"tricky.txt": TRICKY + " " + OTHER_TXT})
    at = open_page("search", tiny_service, timeout=60)
    at.text_input(key="query").input("dough rests overnight").run()
    at.button(key="open_1").click().run()
    assert not at.exception
    shown = _markdown(at)
    assert "<script>" not in shown and "**bold**" not in shown
    assert shown.count("\\<script\\>alert\\(1\\)\\<\\/script\\>") == 2  # the result and the open document
