"""Project-wide checks: settings documented in the README, imports pointing one way."""

from __future__ import annotations

import ast
from dataclasses import fields
from pathlib import Path

import pytest

from indexer.config import Settings, load_settings

ROOT = Path(__file__).resolve().parents[1]


def test_every_setting_is_documented_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [f.name for f in fields(Settings) if f"| `{f.name}` |" not in readme]
    assert not missing, f"settings missing from the README's table: {missing}"
    assert all(f.metadata.get("help") for f in fields(Settings))


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize(
    "folder, forbidden",
    [
        ("indexer", {"streamlit", "app"}),
        # The UI talks to the service only: app.* (app.service re-exports what it needs of indexer).
        ("app/ui", {"indexer", "faiss", "sqlalchemy", "sentence_transformers", "torch", "transformers"}),
    ],
)
def test_layers_import_one_way(folder: str, forbidden: set[str]) -> None:
    offenders = {str(p.relative_to(ROOT)): sorted(_imports(p) & forbidden) for p in (ROOT / folder).rglob("*.py")}
    assert not {k: v for k, v in offenders.items() if v}


def test_settings_come_from_file_then_environment_then_overrides(tmp_path: Path) -> None:
    (tmp_path / "settings.json").write_text('{"chunk_tokens": 128, "batch_size": 8}', encoding="utf-8")
    env = {"BABELSEARCH_BATCH_SIZE": "16", "BABELSEARCH_MODEL": "some/model"}
    settings = load_settings(str(tmp_path), environ=env, model="other/model")
    assert (settings.chunk_tokens, settings.batch_size, settings.model) == (128, 16, "other/model")
    with pytest.raises(ValueError, match="BABELSEARCH_BATCH_SIZE"):
        load_settings(str(tmp_path), environ={"BABELSEARCH_BATCH_SIZE": "many"})


def test_test_files_have_unique_names() -> None:
    # The test folders are not packages: pytest imports each file by its base name, so two files of one name
    # in different folders stop the whole run at collection.
    names: dict[str, list[str]] = {}
    for path in sorted((ROOT / "tests").rglob("test_*.py")):
        names.setdefault(path.name, []).append(str(path.relative_to(ROOT)))
    assert not {n: p for n, p in names.items() if len(p) > 1}
