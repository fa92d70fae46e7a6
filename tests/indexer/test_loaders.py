"""Tests for the file loaders and the dispatcher, on fixture files generated in tmp_path."""

from __future__ import annotations

import io
import json
import unicodedata
from email.message import EmailMessage
from pathlib import Path

import docx
import pytest
from pdfs import pdf_bytes
from pypdf import PdfWriter
from test_loaders_msg import msg_bytes
from test_office import RTF, odt_bytes, pptx_bytes, xlsx_bytes

import indexer.loaders as loaders
from indexer.errors import LoaderError, UnsupportedFileTypeError
from indexer.loaders import SUPPORTED_EXTENSIONS, file_extension, iter_files, load_file
from indexer.loaders.ocr import IMAGE_EXTENSIONS

RU = "Вчера вечером мы долго гуляли по набережной и обсуждали планы на лето. Погода была тёплой, а река спокойной."
DE = "Die Größe der Straße überrascht viele Besucher. Außerdem gibt es schöne Cafés, in denen man Kuchen essen kann."


def write(tmp_path: Path, name: str, data: bytes | str) -> Path:
    """Write a fixture file and return its path."""
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def load_one(tmp_path: Path, name: str, data: bytes | str, **kwargs: object):
    """Load a fixture that must give exactly one document."""
    documents = load_file(write(tmp_path, name, data), **kwargs)  # type: ignore[arg-type]
    assert len(documents) == 1
    return documents[0]


def blank_pdf(user_password: str | None = None, owner_password: str = "owner") -> bytes:
    """A PDF with one empty page (like a scan without OCR), optionally encrypted."""
    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    if user_password is not None:
        writer.encrypt(user_password, owner_password, algorithm="RC4-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def docx_bytes(
    title: str = "", heading: str | None = "Quarterly Review", body: tuple[str, ...] = ("Sales grew.",)
) -> bytes:
    """A real .docx with an optional heading, paragraphs and a 2x2 table."""
    document = docx.Document()
    document.core_properties.title = title
    if heading:
        document.add_heading(heading, level=1)
    for paragraph in body:
        document.add_paragraph(paragraph)
    if body:
        table = document.add_table(rows=2, cols=2)
        for (row, col), text in {(0, 0): "Region", (0, 1): "Total", (1, 0): "North", (1, 1): "42"}.items():
            table.cell(row, col).text = text
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def eml_bytes(plain: str | None, html: str | None, subject: str = "Quarterly numbers") -> bytes:
    """A multipart e-mail with optional text/plain and text/html bodies and an attachment."""
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = "Anna Petrova <anna@example.org>"
    message["To"] = "team@example.org"
    message["Date"] = "Tue, 02 Jan 2024 10:00:00 +0100"
    if plain is not None:
        message.set_content(plain)
    if html is not None:
        if plain is None:
            message.set_content(html, subtype="html")
        else:
            message.add_alternative(html, subtype="html")
    message.add_attachment(b"\x00binary", maintype="application", subtype="octet-stream", filename="a.bin")
    return message.as_bytes()


# --- plain text and Markdown -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"Hello world.", "Hello world."),
        (b"\xef\xbb\xbfBOM text", "BOM text"),
        (RU.encode("utf-16"), RU),
        (b"\xfe\xff" + RU.encode("utf-16-be"), RU),
        (RU.encode("cp1251"), RU),
        (RU.encode("koi8-r"), RU),
        (DE.encode("latin-1"), DE),
        (b"line one\r\nline two\rline three", "line one\nline two\nline three"),
        (unicodedata.normalize("NFD", "Café naïve").encode(), "Café naïve"),
        (b"nul\x00 bytes\x00 removed", "nul bytes removed"),
        (b"\n\n   padded text \t\n", "padded text"),
    ],
    ids=[
        "utf8",
        "utf8_bom",
        "utf16_bom",
        "utf16be_bom",
        "cp1251",
        "koi8r",
        "latin1",
        "line_ends",
        "nfc",
        "nul",
        "strip",
    ],
)
def test_text_decoding_and_normalisation(tmp_path: Path, data: bytes, expected: str) -> None:
    document = load_one(tmp_path, "notes.txt", data)
    assert document.text == expected
    assert document.title == "notes"
    assert document.mime == "text/plain"
    assert document.source_name == "notes.txt"


@pytest.mark.parametrize(
    ("markdown", "title"),
    [
        ("# Project Plan\n\nBody text.", "Project Plan"),
        ("Intro line.\n\n## Section\n\n#   Real Title   #\n", "Real Title"),
        ("```\n# not a heading\n```\n# After Fence\n", "After Fence"),
        ("Setext Title\n============\n\nBody.", "Setext Title"),
        ("## Only a subheading\n\nBody.", "plan"),
        ("#hashtag is not a heading", "plan"),
    ],
    ids=["atx", "closing_hashes", "code_fence", "setext", "no_h1", "hashtag"],
)
def test_markdown_title(tmp_path: Path, markdown: str, title: str) -> None:
    document = load_one(tmp_path, "plan.md", markdown)
    assert document.title == title
    assert document.text == markdown.strip()
    assert document.mime == "text/markdown"


# --- HTML ----------------------------------------------------------------------------------------

PAGE = """<!DOCTYPE html><html lang="de"><head><title> Jahres  Bericht </title>
<style>p { color: red }</style><script>var secret = "SCRIPT";</script></head>
<body><nav>Home | Menu</nav><!-- hidden comment --><h1>Überschrift</h1>
<p>Erster
   Absatz &amp; mehr.</p><p>Zweiter Absatz<br>neue Zeile</p>
<table><tr><th>Jahr</th><th>Umsatz</th></tr><tr><td>2024</td><td>42</td></tr></table>
<noscript>NOSCRIPT</noscript></body></html>"""


def test_html_text_title_and_lang(tmp_path: Path) -> None:
    document = load_one(tmp_path, "page.html", PAGE)
    assert document.title == "Jahres Bericht"
    assert document.metadata["lang"] == "de"
    assert (
        document.text == "Überschrift\n\nErster Absatz & mehr.\n\nZweiter Absatz\nneue Zeile\n\nJahr\tUmsatz\n2024\t42"
    )
    for dropped in ("SCRIPT", "color", "Menu", "hidden comment", "NOSCRIPT"):
        assert dropped not in document.text


@pytest.mark.parametrize(
    ("name", "data", "title", "text"),
    [
        ("a.htm", "<html><body><h1>Only H1</h1><p>Text.</p></body></html>", "Only H1", "Only H1\n\nText."),
        ("b.html", "<p>No title at all.</p>", "b", "No title at all."),
        (
            "c.html",
            f'<html><head><meta charset="windows-1251"></head><body><p>{RU}</p></body></html>'.encode("cp1251"),
            "c",
            RU,
        ),
        ("d.html", "<pre>keep\n  line breaks</pre>", "d", "keep\nline breaks"),
    ],
    ids=["h1_title", "fragment", "meta_charset_cp1251", "pre"],
)
def test_html_variants(tmp_path: Path, name: str, data: str | bytes, title: str, text: str) -> None:
    document = load_one(tmp_path, name, data)
    assert (document.title, document.text) == (title, text)


# --- PDF -----------------------------------------------------------------------------------------


def test_pdf_text_title_and_pages(tmp_path: Path) -> None:
    data = pdf_bytes([["Annual Report 2024", "Revenue grew by ten percent."], ["Second page."]], title="Real Title")
    document = load_one(tmp_path, "report.pdf", data)
    assert document.title == "Real Title"
    assert document.metadata["pages"] == 2
    assert document.text == "Annual Report 2024\nRevenue grew by ten percent.\n\nSecond page."
    assert document.mime == "application/pdf"


def test_pdf_title_falls_back_to_first_line(tmp_path: Path) -> None:
    # reportlab writes the placeholder title "untitled", which must not win over the text.
    document = load_one(tmp_path, "report.pdf", pdf_bytes([["", "  First Real Line  ", "More."]]))
    assert document.title == "First Real Line"


def test_pdf_encrypted_with_owner_password_only_opens(tmp_path: Path) -> None:
    with pytest.raises(LoaderError, match="no extractable text"):
        load_file(write(tmp_path, "owner.pdf", blank_pdf(user_password="")))


# --- Word ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("core_title", "heading", "expected"),
    [("Core Title", "Heading", "Core Title"), ("", "Heading Title", "Heading Title"), ("", None, "memo")],
    ids=["core_properties", "first_heading", "file_name"],
)
def test_docx_title(tmp_path: Path, core_title: str, heading: str | None, expected: str) -> None:
    document = load_one(tmp_path, "memo.docx", docx_bytes(title=core_title, heading=heading))
    assert document.title == expected


def test_docx_paragraphs_and_tables_in_order(tmp_path: Path) -> None:
    document = load_one(tmp_path, "memo.docx", docx_bytes(body=("Sales grew.", "Costs fell.")))
    assert document.text == "Quarterly Review\n\nSales grew.\n\nCosts fell.\n\nRegion\tTotal\nNorth\t42"
    assert document.mime.endswith("wordprocessingml.document")


# --- CSV and JSONL -------------------------------------------------------------------------------


def test_csv_rows_become_documents(tmp_path: Path) -> None:
    data = 'id,title,text,lang\n1,First,"Hello, world",en\n2,,"Second\nrow",en\n3,Blank,   ,en\n'
    documents = load_file(write(tmp_path, "rows.csv", data))
    assert [(d.title, d.text) for d in documents] == [("First", "Hello, world"), ("rows.csv #2", "Second\nrow")]
    assert documents[0].metadata == {"id": "1", "title": "First", "lang": "en", "row": 1}
    assert documents[1].mime == "text/csv"


@pytest.mark.parametrize(
    ("data", "text_field", "texts"),
    [
        (f"id;body\n1;{RU}\n2;{RU}\n".encode("cp1251"), "body", [RU, RU]),
        (f'\ufeffid,text\n1,"{RU}"\n'.encode(), "text", [RU]),
        ("text\nalpha\n\nbeta\n", "text", ["alpha", "beta"]),
        ("id, text\n1, padded\n", "text", ["padded"]),
        ("id\ttext\n1\ttabbed\n", "text", ["tabbed"]),
    ],
    ids=["cp1251_semicolon", "bom_header", "single_column", "spaces", "tsv_in_csv"],
)
def test_csv_variants(tmp_path: Path, data: str | bytes, text_field: str, texts: list[str]) -> None:
    documents = load_file(write(tmp_path, "rows.csv", data), text_field=text_field)
    assert [d.text for d in documents] == texts


def test_jsonl_lines_become_documents(tmp_path: Path) -> None:
    data = '{"text": "First", "lang": "en", "n": 1}\n\n{"text": "Second", "title": "T2"}\n{"text": null}\n'
    documents = load_file(write(tmp_path, "items.jsonl", data))
    assert [(d.title, d.text) for d in documents] == [("items.jsonl #1", "First"), ("T2", "Second")]
    assert documents[0].metadata == {"lang": "en", "n": 1, "line": 1}
    assert documents[1].metadata == {"title": "T2", "line": 3}


# --- e-mail --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("plain", "html", "text"),
    [
        ("Plain body.\nSecond line.", "<p>HTML body</p>", "Plain body.\nSecond line."),
        (None, "<p>Para one</p><script>bad()</script><p>Para two</p>", "Para one\n\nPara two"),
        ("   ", "<p>HTML fallback</p>", "HTML fallback"),
    ],
    ids=["plain_preferred", "html_only", "blank_plain"],
)
def test_eml_body(tmp_path: Path, plain: str | None, html: str | None, text: str) -> None:
    document = load_one(tmp_path, "mail.eml", eml_bytes(plain, html))
    assert document.text == text
    assert document.title == "Quarterly numbers"
    assert document.metadata == {
        "from": "Anna Petrova <anna@example.org>",
        "to": "team@example.org",
        "date": "2024-01-02T10:00:00+01:00",
    }
    assert document.mime == "message/rfc822"


def test_eml_encoded_subject_and_unknown_charset(tmp_path: Path) -> None:
    raw = b"Subject: =?utf-8?b?w5xiZXJibGljaw==?=\nContent-Type: text/plain; charset=x-bogus\n\n" + DE.encode(
        "latin-1"
    )
    document = load_one(tmp_path, "mail.eml", raw)
    assert (document.title, document.text) == ("Überblick", DE)


# --- every type ---------------------------------------------------------------------------------

SAMPLE_FILES = {
    "a.txt": lambda: f"{DE}\r\n{RU}".encode("utf-16"),
    "a.md": lambda: f"# Titel\r\n\r\n{DE}".encode(),
    "a.html": lambda: f"<title>T</title><p>{RU}</p>".encode(),
    "a.htm": lambda: f"<p>{DE}</p>".encode("latin-1"),
    "a.pdf": lambda: pdf_bytes([["Page one text."]]),
    "a.docx": lambda: docx_bytes(title="Memo"),
    "a.csv": lambda: f'text,n\n"{RU}",1\n'.encode(),
    "a.jsonl": lambda: json.dumps({"text": DE, "tags": ["x"], "score": 0.5}).encode(),
    "a.eml": lambda: eml_bytes(RU, None),
    "a.mbox": lambda: b"From a@example.org Tue Jan  2 10:00:00 2024\n" + eml_bytes(DE, None) + b"\n",
    "a.msg": lambda: msg_bytes("Bericht", DE, {"a.txt": RU.encode()}),
    "a.pptx": lambda: pptx_bytes(),
    "a.xlsx": lambda: xlsx_bytes(),
    "a.odt": lambda: odt_bytes(),
    "a.rtf": lambda: RTF,
    "a.zip": lambda: archive_bytes("zip"),
    "a.tar": lambda: archive_bytes("w"),
    "a.tgz": lambda: archive_bytes("w:gz"),
    "a.tar.gz": lambda: archive_bytes("w:gz"),
}


def archive_bytes(mode: str) -> bytes:
    """An archive of a text file and a .docx, as .zip or as tar with the given tarfile mode."""
    import tarfile
    import zipfile

    members = {"inner/a.txt": DE.encode(), "b.docx": docx_bytes(title="Memo")}
    buffer = io.BytesIO()
    if mode == "zip":
        with zipfile.ZipFile(buffer, "w") as archive:
            for name, data in members.items():
                archive.writestr(name, data)
        return buffer.getvalue()
    with tarfile.open(fileobj=buffer, mode=mode) as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@pytest.mark.parametrize("name", SAMPLE_FILES)
def test_every_type_gives_clean_documents(tmp_path: Path, name: str) -> None:
    # Images need Tesseract: tests/indexer/test_ocr.py reads them.
    assert {file_extension(Path(n)) for n in SAMPLE_FILES} == SUPPORTED_EXTENSIONS - set(IMAGE_EXTENSIONS)
    for document in load_file(write(tmp_path, name, SAMPLE_FILES[name]())):
        assert document.text == document.text.strip() and "\r" not in document.text and "\x00" not in document.text
        assert document.text == unicodedata.normalize("NFC", document.text)
        assert document.title and document.source_name.split("/")[0] == name and document.mime
        json.dumps(document.metadata)


# --- failures ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data", "match"),
    [
        ("empty.txt", b"", "empty: no text"),
        ("empty.pdf", b"", "empty: no text"),
        ("blank.md", b" \n\t\n", "empty: no text"),
        ("script.html", b"<script>x()</script><style>p{}</style>", "empty: no text"),
        ("garbage.pdf", b"this is not a PDF at all", "corrupt or unreadable PDF"),
        ("truncated.pdf", "TRUNCATED_PDF", "corrupt or unreadable PDF"),
        ("scan.pdf", "BLANK_PDF", r"no extractable text: no text layer, and no images to read by OCR"),
        ("locked.pdf", "ENCRYPTED_PDF", "encrypted PDF: a password is needed"),
        (
            "old.docx",
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1 old binary doc",
            r"not a valid \.docx file .*save them as \.docx",
        ),
        ("empty.docx", "EMPTY_DOCX", "empty: no text"),
        ("rows.csv", b"id,body\n1,x\n", "no column 'text'; available columns: id, body"),
        ("rows.csv", b"id,text\n", "empty: no text in column 'text'"),
        ("items.jsonl", b'{"text": "ok"}\n{"text": oops}\n', r"line 2: invalid JSON \(Expecting value at column 10\)"),
        ("items.jsonl", b"[1, 2]\n", "line 1: expected a JSON object, got list"),
        ("items.jsonl", b'{"body": "x", "id": 1}\n', "line 1: no key 'text'; available keys: body, id"),
        ("items.jsonl", b'{"text": 5}\n', "line 1: 'text' must be a string, got int"),
        ("items.jsonl", b'{"text": " "}\n', "empty: no text in key 'text'"),
        ("mail.eml", b"Subject: nothing\n\n", "empty: no text"),
    ],
)
def test_failures_are_loader_errors_naming_the_file(tmp_path: Path, name: str, data: bytes | str, match: str) -> None:
    generated = {
        "TRUNCATED_PDF": lambda: blank_pdf()[:200],
        "BLANK_PDF": blank_pdf,
        "ENCRYPTED_PDF": lambda: blank_pdf(user_password="secret"),
        "EMPTY_DOCX": lambda: docx_bytes(heading=None, body=()),
    }
    content = generated[data]() if isinstance(data, str) else data
    with pytest.raises(LoaderError, match=match) as caught:
        load_file(write(tmp_path, name, content))
    assert str(caught.value).startswith(f"{name}: ")
    assert caught.value.source_name == name


@pytest.mark.parametrize(
    ("name", "match"),
    [("tool.exe", r"unsupported file type '\.exe'; supported: \.csv, \.docx"), ("README", "without an extension")],
)
def test_unsupported_type(tmp_path: Path, name: str, match: str) -> None:
    with pytest.raises(UnsupportedFileTypeError, match=match):
        load_file(write(tmp_path, name, b"data"))


def test_type_comes_from_source_name(tmp_path: Path) -> None:
    path = write(tmp_path, "upload-3f9a.tmp", "# Uploaded\n\nBody.")
    [document] = load_file(path, source_name="../../etc/notes.MD")
    assert (document.title, document.source_name, document.mime) == ("Uploaded", "../../etc/notes.MD", "text/markdown")


@pytest.mark.parametrize(
    ("size", "limit", "match"),
    [(2000, 1000, "too large: 2,000 bytes, over the limit of 1,000 bytes"), (3 * 2**20, 2**20, r"3\.0 MB .* 1\.0 MB")],
)
def test_max_bytes(tmp_path: Path, size: int, limit: int, match: str) -> None:
    path = write(tmp_path, "big.txt", b"a" * size)
    with pytest.raises(LoaderError, match=match):
        load_file(path, max_bytes=limit)
    assert load_file(path, max_bytes=size)[0].text == "a" * size


@pytest.mark.parametrize(
    ("make", "match"),
    [(lambda p: p / "missing.txt", "missing.txt: file not found"), (lambda p: p / "folder.txt", "is a folder")],
    ids=["missing", "folder"],
)
def test_unreadable_paths(tmp_path: Path, make, match: str) -> None:
    (tmp_path / "folder.txt").mkdir()
    with pytest.raises(LoaderError, match=match):
        load_file(make(tmp_path))


def test_negative_max_bytes_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="max_bytes must be None or >= 0"):
        load_file(write(tmp_path, "a.txt", "x"), max_bytes=-1)


def test_unexpected_library_errors_become_loader_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(data: bytes, source_name: str) -> list:
        raise RuntimeError("library exploded")

    monkeypatch.setattr(loaders, "load_text", broken)
    with pytest.raises(LoaderError, match=r"a\.txt: cannot read the file \(RuntimeError: library exploded\)"):
        load_file(write(tmp_path, "a.txt", "text"))


# --- iter_files ----------------------------------------------------------------------------------


def test_iter_files_walks_sorted_and_skips_hidden_and_unsupported(tmp_path: Path) -> None:
    names = ["b.txt", "a.md", "sub/c.pdf", "sub/deep/d.csv", ".hidden.txt", ".git/e.txt", "f.exe", "~$lock.docx"]
    for name in names:
        write(tmp_path, name, "x")
    explicit = write(tmp_path / "other", "tool.exe", "x")
    found = list(iter_files([tmp_path / "sub", tmp_path, explicit, tmp_path / "nope.txt"]))
    relative = [p.relative_to(tmp_path).as_posix() if p.is_relative_to(tmp_path) else p for p in found]
    assert relative == ["sub/c.pdf", "sub/deep/d.csv", "a.md", "b.txt", "other/tool.exe", "nope.txt"]


def test_supported_extensions() -> None:
    expected = ".txt .md .html .htm .pdf .docx .pptx .xlsx .odt .rtf .csv .jsonl .eml .mbox .msg .zip .tar .tar.gz"
    assert SUPPORTED_EXTENSIONS == {*expected.split(), ".tgz", ".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp"}
