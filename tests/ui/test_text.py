"""Safe Markdown rendering helpers: escaping, highlighting, paragraphs, direction and language labels."""

from __future__ import annotations

import pytest

from app.ui.text import highlight_markdown, is_rtl, language_label, md_escape, md_inline, md_paragraphs
from app.ui.widgets import passage_key


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("<script>alert(1)</script>", "\\<script\\>alert\\(1\\)\\<\\/script\\>"),
        ("**bold** _it_", "\\*\\*bold\\*\\* \\_it\\_"),
        ("[link](x)", "\\[link\\]\\(x\\)"),
        ("$x^2$", "\\$x\\^2\\$"),
        (":red[x] :smile:", "\\:red\\[x\\] \\:smile\\:"),
        ("# title\n1. item\n    code", "\\# title 1\\. item code"),
        ("back\\slash `tick` | pipe ~~s~~", "back\\\\slash \\`tick\\` \\| pipe \\~\\~s\\~\\~"),
        ("Привет, 世界", "Привет\\, 世界"),
    ],
)
def test_md_escape_disarms_markdown(raw: str, escaped: str) -> None:
    assert md_escape(raw) == escaped


def test_inline_names_are_escaped_and_isolated() -> None:
    assert md_inline("تقرير_1.md") == "\u2068تقرير\\_1\\.md\u2069"


def test_highlight_marks_spans_and_escapes_the_rest() -> None:
    text = "a <b> flood, and floods"
    assert highlight_markdown(text, [(6, 11)]) == "a \\<b\\> :orange-background[**flood**]\\, and floods"


def test_highlight_keeps_paragraph_breaks() -> None:
    text = "Title\n\n  Body flood\nline"
    assert highlight_markdown(text, [(14, 19)]) == "Title\n\nBody :orange-background[**flood**] line"


def test_highlight_drops_spans_that_do_not_fit() -> None:
    assert highlight_markdown("short", [(3, 99), (2, 1)]) == "short"
    assert highlight_markdown("ab cd", [(0, 2), (1, 4)]) == ":orange-background[**ab**] cd"


def test_highlight_inside_words_without_spaces() -> None:
    assert highlight_markdown("城市洪水严重", [(2, 4)]) == "城市:orange-background[**洪水**]严重"


def test_paragraphs_keep_blocks_and_lines() -> None:
    assert md_paragraphs("One *x*\ntwo\n\n\n  - three  \n") == "One \\*x\\*  \ntwo\n\n\\- three"


@pytest.mark.parametrize(
    ("language", "text", "rtl"),
    [
        ("ar", "", True),
        ("he", "", True),
        ("fa", "", True),
        ("ur", "", True),
        ("en", "مرحبا", False),
        (None, "123 שלום", True),
        ("unknown", "(1) مرحبا", True),
        (None, "hello مرحبا", False),
        (None, "", False),
    ],
)
def test_direction(language: str | None, text: str, rtl: bool) -> None:
    assert is_rtl(language, text) is rtl


def test_labels_and_keys() -> None:
    assert language_label("ru") == "Russian (ru)"
    assert language_label(None) == language_label("unknown") == "unknown language"
    assert passage_key("3", True) == "passage-rtl-3" and passage_key("3", False) == "passage-3"
