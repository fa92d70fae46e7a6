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
from test_browser import CHROMIUM, CHROMIUM_ARGS, ROOT, _free_port, _goto, _require_browser, _table_rows, _wait_healthy

pytestmark = pytest.mark.browser

N_FILES = 30
WAIT_MS = 60_000
JOB_WAIT_MS = 900_000
WORDS = ("river dam rain flood town bridge school market harvest coffee farmer train station night winter summer "
         "engineer wall crack water street boat rescue family doctor hospital road mountain valley forest fire "
         "village mayor council report storm wind power grid solar panel roof library book child teacher").split()


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


def _job_state(home: Path) -> str:
    import sqlite3

    with sqlite3.connect(home / "babelsearch.db", timeout=30) as db:
        return db.execute("SELECT state FROM jobs ORDER BY id DESC LIMIT 1").fetchone()[0]


def _search(page, query: str) -> float:
    """Type a query and return the seconds until its results are on screen (the timing caption changes)."""
    caption = page.get_by_text(re.compile(r"^\d+ passages in"))
    before = caption.inner_text() if caption.count() else ""
    box = page.get_by_label("Search in any language")
    box.fill(query)
    t0 = time.monotonic()
    box.press("Enter")
    page.wait_for_function(
        "before => [...document.querySelectorAll('[data-testid=\"stCaptionContainer\"]')]"
        ".some(e => /^\\d+ passages in/.test(e.innerText) && e.innerText !== before)",
        arg=before,
    )
    return time.monotonic() - t0


def _new_collection(page, name: str) -> None:
    field = page.get_by_label("New collection name")
    if not field.is_visible():
        page.locator('[data-testid="stSelectbox"]').filter(has_text="Collection").first.click()
        page.get_by_role("option", name="+ New collection…").click()
    field.fill(name)
    field.press("Enter")


def test_search_answers_while_an_upload_job_runs_and_a_reload_keeps_the_progress(
    app: tuple[str, Path], tmp_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

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
        # A: one file first, so that the worker has loaded the model before the big job.
        _goto(a, "Upload")
        _new_collection(a, "first")
        a.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files([str(files[0])])
        a.get_by_role("button", name="Ingest").click()
        a.get_by_text("1 added").wait_for(timeout=JOB_WAIT_MS)
        b.reload()  # B's page now finds a non-empty index
        _search(b, "warm up the query model")

        _new_collection(a, "bulk")
        a.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files([str(f) for f in files[1:]])
        a.get_by_role("button", name="Ingest").click()
        a.get_by_text(re.compile(r"Job 2 · (queued|running)")).wait_for()

        # B searches while the job runs, and gets answers.
        timings = []
        while _job_state(home) in ("queued", "running") and len(timings) < 5:
            timings.append(_search(b, f"flood rescue by boat in village {len(timings)}"))
            assert _job_state(home) in ("queued", "running", "done")
        print(f"\nsearch while the job runs: {[round(t, 2) for t in timings]} s")
        assert timings, "the job ended before B could search: make it bigger"

        # A reloads the page: the job is still there (its id is in the URL), then its full report.
        a.reload()
        a.get_by_text(re.compile(r"Job 2 · ")).wait_for()
        a.get_by_text(f"{N_FILES - 1} added").wait_for(timeout=JOB_WAIT_MS)
        rows = _table_rows(a.locator('[data-testid="stTable"]'))
        assert sorted(r[0] for r in rows) == sorted(f.name for f in files[1:])
        assert {r[1] for r in rows} == {"added"}
        _goto(a, "Jobs")
        a.get_by_text("Show a job").wait_for()
        browser.close()
