"""Loader for HTML files (.html, .htm), also used for the HTML part of e-mails."""

from __future__ import annotations

import re
import warnings

from bs4 import BeautifulSoup, CData, MarkupResemblesLocatorWarning, NavigableString, PageElement, Tag
from lxml import etree

from indexer.errors import LoaderError
from indexer.loaders.common import clip_title, make_document, sniff_unicode
from indexer.types import LoadedDocument

HTML_MIME = "text/html"
#: Deepest element nesting read by default (libxml2's own default bound for XML).
MAX_DEPTH = 256
_LIBXML2_DEPTH = 256

# Elements whose content is never document text.
_DROP = ("script", "style", "nav", "noscript", "template", "iframe", "svg", "canvas", "head")
# Block elements start a new paragraph, so their text is separated by a blank line.
_BLOCKS = frozenset(
    "address article aside blockquote caption details div dl fieldset figcaption figure footer form "
    "h1 h2 h3 h4 h5 h6 header hr main ol p pre section summary table tbody thead tfoot ul".split()
)
# Rows and list items start a new line inside their block.
_LINES = frozenset(("tr", "li", "dt", "dd"))
_CELLS = frozenset(("td", "th"))
_SPACES = re.compile(r"[ \t\f\v\r\n]+")
_INLINE_SPACES = re.compile(r" {2,}")
_BLANK_LINES = re.compile(r"\n{3,}")


def parse_html(data: bytes | str) -> tuple[BeautifulSoup, str | None]:
    """Parse HTML with lxml, decoding bytes by BOM or UTF-8 before trusting the page's own charset.

    Args:
        data: HTML source as bytes or text.

    Returns:
        The parsed soup and the encoding of the bytes (None for text input).
    """
    encoding = None
    if isinstance(data, bytes):
        sniffed = sniff_unicode(data)
        if sniffed is not None:
            data, encoding = sniffed
    with warnings.catch_warnings():
        # A short text that looks like a file name or URL is still HTML to us.
        warnings.simplefilter("ignore", MarkupResemblesLocatorWarning)
        soup = BeautifulSoup(data, "lxml")
    return soup, encoding or soup.original_encoding


def html_title(soup: BeautifulSoup) -> str:
    """The page title: ``<title>``, else the first ``<h1>``.

    Args:
        soup: parsed page.

    Returns:
        The title, "" when the page has none.
    """
    for tag in (soup.title, soup.find("h1")):
        if isinstance(tag, Tag):
            title = clip_title(tag.get_text(" "))
            if title:
                return title
    return ""


def soup_text(soup: BeautifulSoup, source_name: str = "", max_depth: int = MAX_DEPTH) -> str:
    """Extract readable text, with blank lines between paragraphs, in one pass over the tree.

    Args:
        soup: parsed page (not modified).
        source_name: display name of the file, for the error.
        max_depth: deepest element nesting accepted.

    Returns:
        The text with collapsed spaces and at most one blank line between blocks.

    Raises:
        LoaderError: if elements nest deeper than ``max_depth``.
    """
    parts: list[str] = []
    # An explicit stack of (node, depth, inside <pre>) and of plain-string markers to emit after a tag's
    # content. Editing the tree instead (a marker inserted beside each block) costs the number of siblings
    # per insert, and asking each string for a <pre> parent costs the depth: both never end on hostile pages.
    stack: list[tuple[PageElement, int, bool] | str] = [(soup, 0, False)]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            parts.append(item)
            continue
        node, depth, in_pre = item
        if isinstance(node, Tag):
            if depth > max_depth:
                raise LoaderError(source_name, f"HTML nested deeper than {max_depth} elements (max_html_depth)")
            _enter(node, depth, in_pre, parts, stack)
        elif type(node) is NavigableString or type(node) is CData:
            # Source line breaks are plain spaces in HTML, except inside <pre>; comments and doctypes are skipped.
            parts.append(str(node) if in_pre else _SPACES.sub(" ", str(node)))
    text = _INLINE_SPACES.sub(" ", "".join(parts).replace("\xa0", " "))
    # Strip spaces and tabs at line edges line by line: a regex around each newline backtracks on long tab runs.
    text = "\n".join(line.strip(" \t") for line in text.split("\n"))
    return _BLANK_LINES.sub("\n\n", text).strip()


def _enter(tag: Tag, depth: int, in_pre: bool, parts: list[str], stack: list) -> None:
    name = tag.name
    if name in _DROP:
        return
    if name == "br":
        parts.append("\n")
        return
    if name in _BLOCKS:
        parts.append("\n\n")
        stack.append("\n\n")
    elif name in _LINES:
        # After only: a break on both sides of adjacent rows would make a blank line between them.
        stack.append("\n")
    elif name in _CELLS:
        stack.append("\t")
    inside = in_pre or name == "pre"
    stack.extend((child, depth + 1, inside) for child in reversed(tag.contents))


def load_html(data: bytes, source_name: str, max_depth: int = MAX_DEPTH) -> list[LoadedDocument]:
    """Load an HTML page without scripts, styles and navigation.

    Args:
        data: raw file content.
        source_name: display name of the file.
        max_depth: deepest element nesting accepted.

    Returns:
        One document; the ``lang`` attribute, charset and author go into its metadata.

    Raises:
        LoaderError: if the page has no text or nests deeper than ``max_depth``.
    """
    _check_depth(data, source_name, max_depth)
    soup, encoding = parse_html(data)
    title = html_title(soup)
    metadata: dict[str, str] = {}
    root = soup.find("html")
    if isinstance(root, Tag) and root.get("lang"):
        metadata["lang"] = str(root["lang"]).strip()
    author = soup.find("meta", attrs={"name": "author"})
    if isinstance(author, Tag) and author.get("content"):
        metadata["author"] = clip_title(str(author["content"]))
    if encoding:
        metadata["encoding"] = encoding
    text = soup_text(soup, source_name, max_depth)
    return [make_document(text, source_name, HTML_MIME, title=title, metadata=metadata)]


def _check_depth(data: bytes, source_name: str, max_depth: int) -> None:
    # libxml2 parses in C in milliseconds and stops at its own depth bound; Beautiful Soup builds its tree
    # in Python and needs 7 s for 200,000 nested elements before its own check could refuse them.
    parser = etree.HTMLParser(recover=True, huge_tree=max_depth > _LIBXML2_DEPTH)
    try:
        root = etree.fromstring(data, parser)
    except (etree.LxmlError, ValueError):
        return  # Beautiful Soup copes with what libxml2 refuses outright; its own check still applies
    too_deep = any(e.type_name == "ERR_RESOURCE_LIMIT" for e in parser.error_log)
    if not too_deep and root is not None:
        depth = deepest = 0
        for event, _ in etree.iterwalk(root, events=("start", "end")):
            depth += 1 if event == "start" else -1
            deepest = max(deepest, depth)
        too_deep = deepest > max_depth
    if too_deep:
        raise LoaderError(source_name, f"HTML nested deeper than {max_depth} elements (max_html_depth)")
