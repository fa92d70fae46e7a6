"""Static checks of the UI layer: allowed imports, no HTML from data, and the size limits of the house style."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

UI = Path(__file__).resolve().parents[2] / "app" / "ui"
MODULES = sorted([*UI.glob("*.py"), UI.parents[1] / "streamlit_app.py"])
FORBIDDEN = {"faiss", "sqlalchemy", "sentence_transformers", "torch", "transformers"}


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_ui_imports_no_backend_libraries(path: Path) -> None:
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.Import):
            roots = {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            roots = {(node.module or "").split(".")[0]}
        else:
            continue
        assert not roots & FORBIDDEN, f"{path.name}:{node.lineno} imports {roots & FORBIDDEN}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_no_html_rendering_except_the_static_css(path: Path) -> None:
    calls = [n for n in ast.walk(_tree(path)) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)]
    assert not [call for call in calls if any(k.arg == "unsafe_allow_html" for k in call.keywords)]
    html = [call for call in calls if call.func.attr == "html"]
    if path.name == "widgets.py":
        # The one st.html call renders a module constant, never text from a document or a file name.
        assert len(html) == 1 and [ast.unparse(a) for a in html[0].args] == ["_CSS"]
    else:
        assert not html


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_sizes_follow_the_house_style(path: Path) -> None:
    assert len(path.read_text(encoding="utf-8").splitlines()) <= 150
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.FunctionDef):
            assert node.end_lineno - node.lineno + 1 <= 50, f"{path.name}:{node.name} is too long"
