"""Two analysts in real Chromium: A uploads 30 files as a background job, B searches meanwhile, A reloads.

The app runs as `make run` runs it: Streamlit and one `babelsearch worker`, the real offline model.
"""

from __future__ import annotations

import os
import random
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    ROOT,
    _free_port,
    _goto,
    _require_browser,
    _table_rows,
    _wait_healthy,
    _wait_idle,
)

pytestmark = pytest.mark.browser

N_FILES = 30
WAIT_MS = 60_000
JOB_WAIT_MS = 900_000
WORDS = (
    "river dam rain flood town bridge school market harvest coffee farmer train station night winter summer "
    "engineer wall crack water street boat rescue family doctor hospital road mountain valley forest fire "
    "village mayor council report storm wind power grid solar panel roof library book child teacher"
).split()


def _text(seed: int) -> str:
    rng = random.Random(seed)
    return f"Field report {seed}. " + " ".join(" ".join(rng.choice(WORDS) for _ in range(12)) + "." for _ in range(40))


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, real_model_dir: Path) -> Iterator[tuple[str, Path]]:
    """Streamlit and one worker on a fresh data directory; yields (URL, data directory)."""
    _require_browser()
    tmp = tmp_path_factory.mktemp("browser-jobs")
    home = tmp / "home"
    env = {**os.environ, "BABELSEARCH_HOME": str(home), "BABELSEARCH_MODEL_CACHE": str(real_model_dir.parent),
           "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}  # fmt: skip
    env.pop("BABELSEARCH_MODEL", None)
    # One document beforehand, so that B has an index to search from the start.
    seed = tmp / "seed.txt"
    seed.write_text("The flood reached the old town; volunteers rescued families by boat.", encoding="utf-8")
    subprocess.run([sys.executable, "-m", "app.cli", "ingest", str(seed), "--collection", "seed"], cwd=ROOT,
                   env=env, check=True, capture_output=True)  # fmt: skip
    port = _free_port()
    ui = [sys.executable, "-m", "streamlit", "run", "streamlit_app.py", "--server.port", str(port),
          "--server.address", "127.0.0.1", "--server.headless", "true", "--server.fileWatcherType", "none",
          "--browser.gatherUsageStats", "false"]  # fmt: skip
    with (tmp / "streamlit.log").open("wb") as out, (tmp / "worker.log").open("wb") as worker_out:
        procs = [subprocess.Popen(ui, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT),
                 subprocess.Popen([sys.executable, "-m", "app.cli", "-v", "worker"], cwd=ROOT, env=env,
                                  stdout=worker_out, stderr=subprocess.STDOUT)]  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, procs[0], tmp / "streamlit.log")
        yield url, home
    finally:
        for proc in procs:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _job_row(home: Path) -> tuple[str, int]:
    import sqlite3

    with sqlite3.connect(home / "babelsearch.db", timeout=30) as db:
        return db.execute("SELECT state, files_done FROM jobs ORDER BY id DESC LIMIT 1").fetchone()


def _job_state(home: Path) -> str:
    return _job_row(home)[0]


def _search(page, query: str, timeout_s: float = WAIT_MS / 1000) -> float:
    """Type a query and return the seconds until its results are on screen (the timing caption changes)."""
    caption = page.get_by_text(re.compile(r"passages? in \d+ ms"))
    before = caption.first.inner_text() if caption.count() else ""
    box = page.get_by_label("Search in any language")
    box.fill(query)
    t0 = time.monotonic()
    box.press("Enter")
    while time.monotonic() - t0 < timeout_s:
        if caption.count() and caption.first.inner_text() != before:
            return time.monotonic() - t0
        page.wait_for_timeout(50)
    page.screenshot(path=str(Path(os.environ.get("PYTEST_SHOT_DIR", "/tmp")) / "search-timeout.png"), full_page=True)
    raise AssertionError(f"no results for {query!r} in {timeout_s:.0f} s")


def _attach(page, files: list[Path], collection: str) -> None:
    """Choose the files in the uploader (as a user does, through the file chooser) and wait until Ingest is enabled.

    The uploader lists the files before they have reached the server, so the test waits for the button rather than
    looking once. Should the files or the typed collection name be lost all the same (a rerun replacing a widget),
    it reloads the page and starts the form again; on failure the message says what the page and the browser saw.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import expect

    ingest = page.get_by_role("button", name="Ingest")
    listed = page.get_by_text(re.compile(r"^report-\d\d\.txt")).first
    # What the browser saw of the uploads, for the failure message.
    network: list[str] = []
    page.on("requestfailed", lambda r: network.append(f"failed {r.method} {r.url}: {r.failure}"))
    page.on("response", lambda r: r.status >= 400 and network.append(f"{r.status} {r.request.method} {r.url}"))
    page.on("console", lambda m: m.type == "error" and network.append(f"console: {m.text}"))
    seen = []
    for attempt in range(3):
        if attempt:
            page.reload()
            _goto(page, "Upload")
            _new_collection(page, collection)
        _wait_idle(page)
        with page.expect_file_chooser() as chooser:
            page.get_by_test_id("stFileUploaderDropzone").click()
        chooser.value.set_files([str(f) for f in files])
        try:
            listed.wait_for(timeout=60_000)
            expect(ingest).to_be_enabled(timeout=60_000)
            return
        except (PlaywrightTimeout, AssertionError) as e:
            seen.append(f"attempt {attempt + 1}: files listed {listed.is_visible()}; {str(e).splitlines()[0]}")
    page.screenshot(path=str(Path(os.environ.get("PYTEST_SHOT_DIR", "/tmp")) / "upload-attach.png"), full_page=True)
    shown = page.locator('[data-testid="stMain"]').inner_text()[:1500]
    raise AssertionError(f"Ingest never became enabled for the files and the collection: {seen}; the page showed:\n"
                         f"{shown}\nthe browser's failed requests and errors: {network[-20:]}")


def _new_collection(page, name: str) -> None:
    field = page.get_by_label("New collection name")
    if not field.is_visible():
        page.locator('[data-testid="stSelectbox"]').filter(has_text="Collection").first.click()
        page.get_by_role("option", name="+ New collection…").click()
    field.fill(name)
    field.press("Enter")
    _wait_idle(page)


def test_search_answers_while_an_upload_job_runs_and_a_reload_keeps_the_progress(
    app: tuple[str, Path], tmp_path: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    url, home = app
    files = []
    for n in range(N_FILES):
        files.append(tmp_path / f"report-{n:02d}.txt")
        files[-1].write_text(_text(n), encoding="utf-8")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        a = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        b = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        for tab in (a, b):
            tab.set_default_timeout(WAIT_MS)
            tab.goto(url)
        # B's first search loads the query and NLI models in the UI process: a cold start, before the job.
        _search(b, "warm up the models", timeout_s=JOB_WAIT_MS / 1000)
        # A uploads 30 files into a new collection: a background job.
        _goto(a, "Upload")
        _new_collection(a, "bulk")
        _attach(a, files, "bulk")
        a.get_by_role("button", name="Ingest").click()
        a.get_by_text(re.compile(r"Job 1 · (queued|running)")).wait_for()

        # B searches while the job runs, and gets answers (the first search also loads B's query model).
        timings, during = [], []
        while _job_state(home) in ("queued", "running") and len(timings) < 6:
            timings.append(_search(b, f"flood rescue by boat in village {len(timings)}"))
            during.append(_job_state(home) in ("queued", "running"))
        print(f"\nsearch while the job runs: {[round(t, 2) for t in timings]} s, job still running: {during}")
        assert any(during), "no search answered while the job ran: make the job bigger"

        # A reloads the page: the job is still there (its id is in the URL), then its full report.
        a.reload()
        a.get_by_text(re.compile(r"Job 1 · ")).wait_for()
        a.get_by_text(f"{N_FILES} added").wait_for(timeout=JOB_WAIT_MS)
        expect(a.locator('[data-testid="stTable"]')).to_have_count(1)
        rows = _table_rows(a.locator('[data-testid="stTable"]'))
        assert sorted(r[0] for r in rows) == sorted(f.name for f in files)
        assert {r[1] for r in rows} == {"added"}
        _goto(a, "Jobs")
        a.get_by_text("Show a job").wait_for()
        browser.close()
