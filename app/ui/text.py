"""Safe text for Streamlit: Markdown escaping, highlighting, language labels and text direction."""

from __future__ import annotations

import re
import unicodedata

from app.service import language_name

#: Languages written right to left (ISO 639-1, plus Sorani "ckb").
RTL_LANGUAGES = frozenset({"ar", "he", "fa", "ur", "yi", "ps", "sd", "ug", "dv", "ckb"})

# Every ASCII punctuation character may be backslash-escaped in CommonMark; escaping all of them
# disarms emphasis, links, HTML, tables, math ($), :emoji: and :color[...] directives at once.
_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")
_SPACE = re.compile(r"\s+")
_PARAGRAPH_BREAK = re.compile(r"\s*\n\s*\n\s*")


def md_escape(text: str) -> str:
    """Escape text so that Streamlit's Markdown shows it literally, on one line.

    Args:
        text: untrusted text (a passage, a title, a file name).

    Returns:
        Markdown that renders as ``text`` with its whitespace runs (newlines included) collapsed to single spaces.
    """
    return _PUNCTUATION.sub(r"\\\1", _SPACE.sub(" ", text))


def md_inline(text: str) -> str:
    """Escape a name or title for use inside a line of other text, isolated from its text direction.

    Args:
        text: untrusted text such as a file name.

    Returns:
        The escaped text between Unicode first-strong and pop isolates, so that an Arabic or Hebrew name
        does not reorder the words around it.
    """
    return f"\u2068{md_escape(text)}\u2069"


def md_paragraphs(text: str) -> str:
    """Escape a multi-line text, keeping its paragraphs and line breaks.

    Args:
        text: untrusted text, e.g. a whole document.

    Returns:
        Markdown with one paragraph per blank-line-separated block and hard breaks inside.
    """
    blocks = re.split(r"\n\s*\n", text.strip())
    # Two trailing spaces make a hard line break; escaping keeps lines from becoming lists or code.
    return "\n\n".join(
        "  \n".join(md_escape(line).strip() for line in block.splitlines() if line.strip())
        for block in blocks
        if block.strip()
    )


def highlight_markdown(text: str, spans: list[tuple[int, int]]) -> str:
    """Escape a passage, keep its paragraph breaks, and mark the given spans in bold on an orange background.

    Args:
        text: the passage.
        spans: sorted, non-overlapping (start, end) character spans of ``text`` to mark.

    Returns:
        Markdown safe to pass to ``st.markdown`` without ``unsafe_allow_html``.
    """
    parts, position = [], 0
    for start, end in spans:
        if start < position or start >= end or end > len(text):
            continue  # a span that does not fit this text is dropped, never guessed at
        parts += [_escape_paragraphs(text[position:start]), f":orange-background[**{md_escape(text[start:end])}**]"]
        position = end
    parts.append(_escape_paragraphs(text[position:]))
    return "".join(parts).strip()


def _escape_paragraphs(text: str) -> str:
    # Spans never hold whitespace, so a blank line can only fall between them: keep it as a paragraph break.
    return "\n\n".join(md_escape(part) for part in _PARAGRAPH_BREAK.split(text))


def language_label(code: str | None) -> str:
    """A readable language label such as "Arabic (ar)".

    Args:
        code: an ISO 639-1 code, "unknown" or None.

    Returns:
        The English name followed by the code, or "unknown language".
    """
    if not code or code == "unknown":
        return "unknown language"
    return f"{language_name(code)} ({code})"


def is_rtl(language: str | None, text: str = "") -> bool:
    """Whether text should be laid out right to left.

    Args:
        language: the detected language code, if any.
        text: the text, used when the language is unknown (first strong directional character).

    Returns:
        True for Arabic, Hebrew, Persian, Urdu and other right-to-left scripts.
    """
    if language and language != "unknown":
        return language in RTL_LANGUAGES
    for char in text[:500]:
        direction = unicodedata.bidirectional(char)
        if direction in ("L", "R", "AL"):
            return direction != "L"
    return False
