"""``babelsearch db current`` / ``db upgrade`` on an index of the release before migrations."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from legacy_db import make_legacy_database
from sqlalchemy import create_engine, text

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


def test_db_current_on_a_database_of_a_newer_release_says_so(tmp_path: Path, capsys) -> None:
    home = tmp_path / "home"
    assert _run(capsys, "--home", str(home), "db", "upgrade")[0] == 0
    engine = create_engine(f"sqlite:///{home / 'babelsearch.db'}")
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    code, out = _run(capsys, "--home", str(home), "db", "current")
    assert out.strip().endswith(
        "revision 9999, head 0002: written by a newer Babel Search - upgrade Babel Search to open it"
    )
    assert main(["--home", str(home), "db", "upgrade"]) == 1
    assert "which this release does not know" in capsys.readouterr().err
