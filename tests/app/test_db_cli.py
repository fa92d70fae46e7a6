"""``babelsearch db current`` / ``db upgrade`` on an index of the release before migrations."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from legacy_db import make_legacy_database

from app.cli import main
from indexer.store import migrate


def _run(capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().out


def test_db_current_reads_without_migrating_and_db_upgrade_migrates(tmp_path: Path, capsys) -> None:
    home = tmp_path / "home"
    home.mkdir()
    make_legacy_database(f"sqlite:///{home / 'babelsearch.db'}", n_chunks=5)
    code, out = _run(capsys, "--home", str(home), "db", "current", "--json")
    assert code == 0
    assert json.loads(out) | {"database": None} == {
        "database": None,
        "exists": True,
        "current": None,
        "head": migrate.HEAD,
        "pending": ["0001", "0002"],
    }
    # Looking changed nothing: still no revision.
    code, out = _run(capsys, "--home", str(home), "db", "current")
    assert out.strip().endswith(
        f"revision none, head {migrate.HEAD}: 2 to apply (0001, 0002); run `babelsearch db upgrade`"
    )
    code, out = _run(capsys, "--home", str(home), "db", "upgrade")
    assert (code, out.strip().split(": ", 1)[1]) == (0, f"migrated from no schema to {migrate.HEAD}")
    code, out = _run(capsys, "--home", str(home), "db", "upgrade")
    assert out.strip().endswith(f"already at {migrate.HEAD}")
    code, out = _run(capsys, "--home", str(home), "db", "current", "--json")
    assert (json.loads(out)["current"], json.loads(out)["pending"]) == (migrate.HEAD, [])


def test_db_current_on_a_missing_database_creates_nothing(tmp_path: Path, capsys) -> None:
    code, out = _run(capsys, "--home", str(tmp_path / "none"), "db", "current", "--json")
    assert (code, json.loads(out)["exists"], json.loads(out)["pending"]) == (0, False, ["0001", "0002"])
    assert not (tmp_path / "none").exists()


def test_db_upgrade_on_postgresql_names_the_database_without_its_password(
    postgres_url: str, monkeypatch, capsys
) -> None:
    make_legacy_database(postgres_url, n_chunks=3)
    monkeypatch.setenv("BABELSEARCH_STORE_URL", postgres_url)
    code, out = _run(capsys, "db", "upgrade", "--json")
    report = json.loads(out)
    assert (code, report["before"], report["after"], report["migrated"]) == (0, None, migrate.HEAD, True)
    assert report["database"].startswith("postgresql+psycopg://")
