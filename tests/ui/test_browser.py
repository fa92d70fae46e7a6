"""End to end in a real browser: the Streamlit app with the real offline model, driven by Playwright and Chromium.

Uploads documents in four languages, searches in a fifth, opens the best document, and writes the screenshots
in docs/screenshots/.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "docs" / "screenshots"
CHROMIUM = Path(os.environ.get("BABELSEARCH_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]  # fmt: skip
WAIT_MS = 30_000
INGEST_WAIT_MS = 180_000  # the first ingest loads the model

# Original test documents: one on a flood (German), the others on unrelated topics.
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
    "recette <script>.txt": 'Pain au levain <script>window.__xss = 1</script> <img src=x onerror="window.__xss=2">\n\n'
    "Mélanger la farine, l'eau et le sel, laisser reposer la pâte toute une nuit puis cuire **très chaud**.",
}
CORRUPT = {"scan.pdf": b"%PDF-1.7 this file was cut off in transit"}


def _require_browser() -> None:
    """Skip without Chromium or Playwright, except in CI (CI=true), where the browser must be there."""
    missing = [] if CHROMIUM.exists() else [f"Chromium at {CHROMIUM} (apt-get install chromium)"]
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("the playwright Python package (pip install playwright)")
    if missing:
        message = "browser test needs " + " and ".join(missing)
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_healthy(url: str, proc: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"streamlit exited with {proc.returncode}:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.read().strip() == b"ok":
                    return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"streamlit did not become healthy in {timeout:.0f} s:\n{log.read_text(errors='replace')[-3000:]}")


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory, real_model_dir: Path) -> Iterator[str]:
    """Run ``streamlit run streamlit_app.py`` on a free port with a fresh data directory and the real model."""
    _require_browser()
    tmp = tmp_path_factory.mktemp("browser")
    env = {**os.environ, "BABELSEARCH_HOME": str(tmp / "home"), "BABELSEARCH_MODEL_CACHE": str(real_model_dir.parent),
           "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}  # fmt: skip
    env.pop("BABELSEARCH_MODEL", None)  # the default, built-in model
    port = _free_port()
    log = tmp / "streamlit.log"
    command = [sys.executable, "-m", "streamlit", "run", "streamlit_app.py", "--server.port", str(port),
               "--server.address", "127.0.0.1", "--server.headless", "true", "--server.fileWatcherType", "none",
               "--browser.gatherUsageStats", "false"]  # fmt: skip
    worker_command = [sys.executable, "-m", "app.cli", "-v", "worker"]  # uploads are ingested by a worker
    with log.open("wb") as out, (tmp / "worker.log").open("wb") as worker_out:
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        worker = subprocess.Popen(worker_command, cwd=ROOT, env=env, stdout=worker_out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc, log)
        yield url
    finally:
        for running in (proc, worker):
            running.terminate()
            try:
                running.wait(timeout=15)
            except subprocess.TimeoutExpired:
                running.kill()
                running.wait()


@pytest.fixture(scope="module")
def page(app_url: str) -> Iterator[object]:
    """A Chromium page at laptop size."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        tab = browser.new_page(viewport={"width": 1280, "height": 800})
        tab.set_default_timeout(WAIT_MS)
        tab.goto(app_url)
        yield tab
        browser.close()


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """The documents to upload, written to disk under their display names."""
    folder = tmp_path_factory.mktemp("upload")
    paths = []
    for name, text in DOCUMENTS.items():
        paths.append(folder / name)
        paths[-1].write_text(text, encoding="utf-8")
    for name, data in CORRUPT.items():
        paths.append(folder / name)
        paths[-1].write_bytes(data)
    return paths


def _goto(page, title: str) -> None:
    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name=title).click()
    page.get_by_role("heading", name=title, level=1).wait_for()


def _wait_idle(page, timeout_ms: float = 2 * WAIT_MS) -> None:
    """Wait until the app's script has finished its run (a widget changed mid-run can be replaced and lose input).

    A run an action has just asked for may not have started yet: give it a moment first, and a moment after.
    """
    page.wait_for_timeout(300)
    page.locator('[data-testid="stApp"][data-test-script-state="notRunning"]').wait_for(timeout=timeout_ms)
    page.wait_for_timeout(200)


def _shot(page, name: str, height: int = 800) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1280, "height": height})
    page.wait_for_timeout(600)  # let charts and fonts settle
    page.screenshot(path=str(SHOTS / f"{name}.png"))
    page.set_viewport_size({"width": 1280, "height": 800})


def _text(locator) -> str:
    # Names are wrapped in invisible Unicode isolates (U+2068/U+2069) to keep their text direction.
    return locator.inner_text().replace("\u2068", "").replace("\u2069", "")


def _table_rows(table) -> list[list[str]]:
    return table.evaluate(
        "t => [...t.querySelectorAll('tbody tr')].map(r => [...r.cells].map(c => c.innerText.trim()))"
    )


def _no_horizontal_scroll(page) -> bool:
    return page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollWidth <= window.innerWidth")


def _result_languages(page) -> list[str]:
    # Each result's caption ends "<language> (<code>) · score 0.812".
    return re.findall(r"\((\w\w)\) · score", _text(page.locator('[data-testid="stMain"]')))


def _wait_languages(page, pattern: str) -> None:
    """Wait until a rerun has shown its results: the language codes of all result captions match ``pattern``."""
    page.wait_for_function(
        "pattern => { const main = document.querySelector('[data-testid=\"stMain\"]').innerText;"
        " const codes = [...main.matchAll(/\\((\\w\\w)\\) · score/g)].map(m => m[1]);"
        " return codes.length > 0 && codes.every(code => new RegExp(pattern).test(code)); }",
        arg=pattern,
    )


def _check_balance_and_facets(page) -> None:
    # Five languages in the collection: balancing is on by default, and results and facets span languages.
    assert page.get_by_role("switch", name="Balance languages", exact=True).is_checked()
    assert len(set(_result_languages(page))) >= 4
    facets = page.locator(".st-key-facets")
    facets.get_by_text("Relevant passages per language").wait_for()
    labels = facets.get_by_role("radio").all_inner_texts()
    assert len(labels) == 5 and any(label.startswith("German · ") for label in labels), labels


def _check_facet_filter(page) -> None:
    # A facet narrows the results to its language; "Show all languages" brings the others back.
    page.locator(".st-key-facets").get_by_role("radio", name=re.compile("^Arabic")).click()
    _wait_languages(page, "^ar$")
    page.get_by_role("button", name="Show all languages").click()
    page.get_by_role("button", name="Show all languages").wait_for(state="detached")
    _wait_languages(page, ".")
    page.get_by_text("(de) · score").first.wait_for()


def _check_more_like_this(page) -> None:
    # Passages like the German report's, in other documents and other languages, then back to the query.
    page.get_by_role("button", name="More like this").first.click()
    page.get_by_role("heading", name=re.compile("More like")).wait_for()
    # The query's results stay on screen until the rerun ends; the document itself is never among its likes.
    page.wait_for_function(
        "() => { const main = document.querySelector('[data-testid=\"stMain\"]').innerText;"
        " return main.includes('· score') && !main.includes('hochwasser-passau.txt'); }"
    )
    assert len(set(_result_languages(page))) >= 3
    assert _no_horizontal_scroll(page)
    _shot(page, "search-similar", 1300)
    page.get_by_role("button", name="Back to the results").click()
    page.get_by_role("heading", name=re.compile("More like")).wait_for(state="detached")
    page.get_by_text(re.compile("^1\\. \u2068hochwasser-passau")).wait_for()


def _sidebar_toggle(page, label: str) -> None:
    sidebar = page.locator('[data-testid="stSidebar"]')
    sidebar.get_by_role("switch", name=label, exact=True).scroll_into_view_if_needed()
    sidebar.get_by_text(label, exact=True).click()


def _check_stance(page) -> None:
    # With the stance check on, every result carries a badge: a confident stance with its probability, or
    # "unclear"; switching the check off removes them.
    badges = re.compile(r"^((supports|contradicts|neutral) · \d+ %|unclear)$")
    _sidebar_toggle(page, "Check stance (NLI)")
    page.get_by_text(badges).first.wait_for(timeout=INGEST_WAIT_MS)
    page.get_by_role("button", name="Open document").first.wait_for()
    assert _no_horizontal_scroll(page)
    _shot(page, "search-stance", 1500)
    _sidebar_toggle(page, "Check stance (NLI)")
    page.get_by_text(badges).first.wait_for(state="detached", timeout=INGEST_WAIT_MS)


def test_upload_search_open_and_browse(page, files: list[Path]) -> None:
    from playwright.sync_api import expect

    # Upload: a new collection, five documents in five languages and one corrupt PDF.
    _goto(page, "Upload")
    page.get_by_label("New collection name").fill("field-reports")
    page.get_by_label("New collection name").press("Enter")
    page.get_by_text("Name the new collection to enable ingest.").wait_for(state="detached")  # the name is in
    _wait_idle(page)
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files([str(p) for p in files])
    page.get_by_text("scan.pdf").first.wait_for()
    page.get_by_role("button", name="Ingest").click()
    page.get_by_text("5 added").wait_for(timeout=INGEST_WAIT_MS)
    expect(page.locator('[data-testid="stTable"]')).to_have_count(1)  # the live view has given way to the report
    status = {row[0]: row[1] for row in _table_rows(page.locator('[data-testid="stTable"]'))}
    assert status == {name: "added" for name in DOCUMENTS} | {"scan.pdf": "failed"}
    _shot(page, "upload", 1150)

    # Search in English: the German flood report comes first; markup in a document stays text.
    _goto(page, "Search")
    page.get_by_label("Search in any language").fill(
        "residents of the flooded old town of Passau were rescued by boat"
    )
    page.get_by_label("Search in any language").press("Enter")
    # The worker ingested the upload: this first search loads the model in the UI process.
    page.get_by_text(re.compile(r"^\d+ passages in")).wait_for(timeout=INGEST_WAIT_MS)
    found = int(page.get_by_text(re.compile(r"^\d+ passages in")).inner_text().split()[0])
    assert found >= 6  # every document, the German one possibly in several passages
    page.get_by_role("button", name="Open document").nth(found - 1).wait_for()  # results arrive one by one
    main = _text(page.locator('[data-testid="stMain"]'))
    assert main.index("1. hochwasser-passau") < main.index("hochwasser-passau.txt") < main.index("2. ")
    assert "German (de)" in main and "Arabic (ar)" in main
    assert "<script>window.__xss = 1</script>" in main and page.evaluate("() => window.__xss") is None
    rtl = page.locator('[class*="st-key-passage-rtl-"]').first
    assert rtl.evaluate("e => getComputedStyle(e).direction") == "rtl"
    assert _no_horizontal_scroll(page)
    _check_balance_and_facets(page)
    _shot(page, "search", 1500)
    _check_facet_filter(page)
    _check_more_like_this(page)
    _check_stance(page)

    # Open the best document: a dialog with the whole text and the passage marked.
    page.get_by_role("button", name="Open document").first.click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_text("Matched passage").wait_for()
    # The text after the passage is the dialog's last element: once it is there, the whole document is.
    dialog.get_by_text(re.compile("Schutzmauern entlang der Donau")).first.wait_for()
    text = _text(dialog)
    # The whole document is there, the matched passage framed in it, and "Passau" marked in the passage.
    assert "Der Wetterdienst" in text and "Schutzmauern entlang der Donau" in text
    assert dialog.locator(".stMarkdownColoredBackground").first.inner_text() == "Passau"
    _shot(page, "document", 900)
    page.keyboard.press("Escape")
    dialog.wait_for(state="hidden")

    # Collections and Status pages.
    _goto(page, "Collections")
    page.get_by_text("Passages per language").wait_for()
    page.get_by_text("Read a document").wait_for()
    expect(page.locator('[data-testid="stDataFrame"]').first).to_contain_text("field-reports")
    _shot(page, "collections", 1300)
    # Read a document there, and start deleting it: the page asks first, and Cancel keeps it.
    chooser = page.locator('[data-testid="stSelectbox"]').filter(has_text="Read a document").locator("input")
    chooser.click()
    chooser.fill("محطة")  # the select box filters its options by what is typed
    page.keyboard.press("Enter")
    page.get_by_role("button", name="Delete this document").click()
    page.get_by_text("This cannot be undone").wait_for()
    rtl = page.locator('[class*="st-key-passage-rtl-doc-"]')
    assert "عشرين ألف منزل" in rtl.inner_text() and rtl.evaluate("e => getComputedStyle(e).direction") == "rtl"
    _shot(page, "collections-delete", 1300)
    page.get_by_role("button", name="Cancel").click()
    page.get_by_text("This cannot be undone").wait_for(state="detached")
    assert "5 documents" in page.locator('[data-testid="stMain"]').inner_text()
    _goto(page, "Status")
    page.get_by_text("Recent ingest errors").wait_for()
    page.get_by_text(re.compile(r"The latest \d+ of \d+ recorded")).wait_for()
    expect(page.locator('[data-testid="stMain"]')).to_contain_text("scan.pdf")
    expect(page.locator('[data-testid="stMain"]')).to_contain_text("sqlite:///")  # escaped Markdown, shown as is
    assert _no_horizontal_scroll(page)
    _shot(page, "status", 1000)
