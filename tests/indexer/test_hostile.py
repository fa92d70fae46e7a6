"""Hostile and broken files through the isolated loader: each fails alone, with its exact reason, in bounded time.

The time bounds here are the limits' contract (a file that would hang is stopped), not speed targets:
they are generous multiples of what each case takes on a loaded 2-core machine.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import re
import socket
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import docx
import pytest
from pypdf import PdfWriter
from test_loaders_msg import msg_bytes

from indexer.errors import LoaderError, UnsupportedFileTypeError
from indexer.loaders.isolate import LoaderWorker
from indexer.loaders.limits import TRUNCATED_KEY, LoadLimits

MB = 1024 * 1024
WORKERS = Path(__file__).parent / "workers"
GOOD = "Die Größe der Straße überrascht viele Besucher. Außerdem gibt es schöne Cafés."
W_NS = b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>'
# A billion laughs: ten levels of ten references each.
LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE z ['
    + b"".join(b'<!ENTITY l%d "%s">' % (i, (b"&l%d;" % (i - 1)) * 10 if i else b"lol") for i in range(10))
    + b"]>"
)
LIMITS = LoadLimits(load_timeout_s=30, load_memory_mb=1024)


# --- file makers: each writes its hostile file under the given name and returns its path -----------------


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def docx_zip(path: Path, document_xml: Callable[[io.RawIOBase], None] | bytes, extra_members: int = 0) -> Path:
    """A .docx made by python-docx whose word/document.xml is replaced (streamed: bombs stay small in memory)."""
    base = io.BytesIO()
    docx.Document().save(base)
    source = zipfile.ZipFile(base)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for item in source.infolist():
            if item.filename != "word/document.xml":
                out.writestr(item.filename, source.read(item.filename))
        with out.open("word/document.xml", "w", force_zip64=True) as member:
            if isinstance(document_xml, bytes):
                member.write(document_xml)
            else:
                document_xml(member)
        for n in range(extra_members):
            out.writestr(f"extra/part{n}.xml", b"<a/>")
    return path


def spaces_xml(n_mb: int) -> Callable[[io.RawIOBase], None]:
    """document.xml with one paragraph of ``n_mb`` MB of spaces: compresses about 1000 times."""

    def fill(member: io.RawIOBase) -> None:
        member.write(W_NS + b"<w:p><w:r><w:t>x")
        block = b" " * MB
        for _ in range(n_mb):
            member.write(block)
        member.write(b"</w:t></w:r></w:p></w:body></w:document>")

    return fill


def paragraph_xml(text: bytes) -> bytes:
    return W_NS + b"<w:p><w:r><w:t>" + text + b"</w:t></w:r></w:p></w:body></w:document>"


def good_docx_bytes() -> bytes:
    buffer = io.BytesIO()
    document = docx.Document()
    document.add_paragraph(GOOD)
    document.save(buffer)
    return buffer.getvalue()


def blank_pdf(password: str | None = None) -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    if password:
        writer.encrypt(password, "owner", algorithm="RC4-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def make_socket(path: Path) -> Path:
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    server.close()
    return path


def make_symlink(path: Path, target: str) -> Path:
    os.symlink(target, path)
    return path


def make_folder(path: Path) -> Path:
    path.mkdir()
    return path


def make_sparse(path: Path, size: int) -> Path:
    with open(path, "wb") as handle:
        handle.truncate(size)
    return path


def nested_eml(depth: int) -> bytes:
    parts = b"".join(b"--b%d\nContent-Type: multipart/mixed; boundary=b%d\n\n" % (i, i + 1) for i in range(depth))
    last = b"--b%d\nContent-Type: text/plain\n\nhi\n" % depth
    return b"Content-Type: multipart/mixed; boundary=b0\n\n" + parts + last


@dataclass(frozen=True)
class Case:
    """One hostile file: how to make it and what must come of it.

    Attributes:
        name: the file's name.
        make: writes the file at the given path and returns the path to load.
        reason: the exact failure reason, as a regular expression (fullmatch); None when the file loads.
        note: for a file that loads, its report note (fullmatch; "" for none).
        text: for a file that loads, a regular expression its first document's text must fullmatch.
        seconds: the time bound.
    """

    name: str
    make: Callable[[Path], Path]
    reason: str | None = None
    note: str = ""
    text: str = r"(?s).+"
    seconds: float = 10.0


def _bytes(data: Callable[[], bytes]) -> Callable[[Path], Path]:
    return lambda path: write(path, data())


SPECIAL = r"not a regular file: {}; skipped without opening it"
NOT_DOCX = r"not a valid \.docx file \({}\); old binary \.doc files are not supported, save them as \.docx"
NO_ENCODING = r"cannot detect the text encoding \(is it a binary file\?\)"
CAP = r"text truncated: the first 2,000,000 of {} characters are indexed \(max_text_chars\){}"
CASES = [
    # Special files are refused before anything opens them: a FIFO would block the reader forever.
    Case("notes.txt", lambda p: (os.mkfifo(p), p)[1], SPECIAL.format(r"a named pipe \(FIFO\)"), seconds=2),
    Case("report.txt", make_socket, SPECIAL.format("a socket"), seconds=2),
    Case("null.txt", lambda p: make_symlink(p, "/dev/null"), SPECIAL.format("a character device"), seconds=2),
    Case("loop.txt", lambda p: make_symlink(p, p.name), "symbolic link loop: the link never reaches a file"),
    Case("gone.txt", lambda p: make_symlink(p, "nowhere.txt"), "broken symbolic link: its target does not exist"),
    Case("folder.txt", make_folder, "is a folder, not a file", seconds=2),
    Case(
        "huge.txt",
        lambda p: make_sparse(p, 51 * MB),
        r"too large: 51\.0 MB \(53,477,376 bytes\), over the limit "
        r"of 50\.0 MB \(52,428,800 bytes\)",
        seconds=2,
    ),
    Case("tool.exe", _bytes(lambda: b"MZ"), r"unsupported file type '\.exe'; supported: .*", seconds=2),
    # Zip-based formats are checked before python-docx inflates anything.
    Case(
        "bomb.docx",
        lambda p: docx_zip(p, spaces_xml(300)),
        r"decompression bomb\? \.docx file inflates to "
        r"300\.\d MB \([\d,]+ bytes\), over the limit of 256 MB \(max_unzipped_mb\)",
    ),
    Case(
        "ratio.docx",
        lambda p: docx_zip(p, spaces_xml(20)),
        r"decompression bomb\? member 'word/document\.xml' of "
        r"the \.docx file inflates [\d,]+ times, over the limit of 100 \(max_zip_ratio\)",
    ),
    Case(
        "members.docx",
        lambda p: docx_zip(p, paragraph_xml(b"x"), extra_members=10_000),
        r"\.docx file has 10,0\d\d members, over the limit of 10,000 \(max_zip_members\)",
        seconds=30,
    ),
    Case(
        "laughs.docx",
        lambda p: docx_zip(p, LAUGHS + paragraph_xml(b"&l9;")),
        NOT_DOCX.format(r"XMLSyntaxError: .*amplification factor exceeded.*"),
    ),
    Case(
        "xxe.docx",
        lambda p: docx_zip(
            p, b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>' + paragraph_xml(b"&x;")
        ),
        "empty: no text",
    ),
    Case(
        "zip.docx",
        _bytes(lambda: _zip({"hello.txt": b"hi"})),
        NOT_DOCX.format(r"KeyError: \"There is no item named '\[Content_Types\]\.xml' in the archive\""),
    ),
    Case("cut.docx", _bytes(lambda: good_docx_bytes()[:3000]), NOT_DOCX.format("BadZipFile: .*")),
    Case("random.docx", _bytes(lambda: os.urandom(5000)), NOT_DOCX.format("BadZipFile: File is not a zip file")),
    # Markup.
    Case(
        "deep.html",
        _bytes(lambda: b"<div>x" * 200_000),
        r"HTML nested deeper than 256 elements \(max_html_depth\)",
        seconds=60,
    ),
    Case(
        "wide.html",
        _bytes(lambda: b"<table><tr>" + b"<td></td>" * 200_000 + b"</tr></table><p>word</p>"),
        text=r"word",
        seconds=60,
    ),
    Case("laughs.html", _bytes(lambda: LAUGHS + b"<p>&l9;</p>"), text=r"(?s).*&l9;"),
    Case(
        "deep.eml",
        _bytes(lambda: b"Content-Type: text/html\n\n" + b"<div>x" * 1000),
        r"HTML nested deeper than 256 elements \(max_html_depth\)",
    ),
    Case("parts.eml", _bytes(lambda: nested_eml(3000)), r"nested too deeply to read \(RecursionError\)", seconds=30),
    # Text that costs too much to index is cut, and the report says so.
    Case(
        "line.txt", _bytes(lambda: b"a" * (30 * MB)), note=CAP.format("31,457,280", ""), text=r"a{2000000}", seconds=30
    ),
    Case(
        "cell.csv",
        _bytes(lambda: b"text,id\n" + b"b" * (10 * MB) + b",1\n"),
        note=CAP.format("10,485,760", ""),
        text=r"b{2000000}",
        seconds=30,
    ),
    Case(
        "rows.csv",
        _bytes(lambda: b"text\n" + b"".join(b"row %07d %s\n" % (i, b"x" * 50) for i in range(50_000))),
        note=CAP.format("3,100,000", r"; 17,740 later document\(s\) dropped"),
        text="row 0000000 x{50}",
        seconds=30,
    ),
    Case(
        "line.jsonl",
        _bytes(lambda: json.dumps({"text": "c" * (5 * MB)}).encode()),
        note=CAP.format("5,242,880", ""),
        text=r"c{2000000}",
        seconds=30,
    ),
    Case(
        "deep.jsonl",
        _bytes(lambda: b'{"text": ' + b"[" * 100_000 + b"]" * 100_000 + b"}\n"),
        r"nested too deeply to read \(RecursionError\)",
    ),
    # Inputs that used to take quadratic time in a regex or in Unicode normalisation.
    Case("heading.md", _bytes(lambda: b"# a" + b" " * 1_000_000 + b"b\n\nbody"), text=r"(?s)# a +b\n\nbody"),
    Case("zalgo.txt", _bytes(lambda: ("a" + "\u0301\u0316" * 100_000).encode()), text=r"(?s)á.{63}"),
    Case("dots.txt", _bytes(lambda: b"." * 1_000_000 + b"x"), text=r"\.{1000000}x"),
    # Encodings and binary content.
    Case("gzip.txt", _bytes(lambda: gzip.compress(GOOD.encode() * 50)), NO_ENCODING),
    Case("random.txt", _bytes(lambda: os.urandom(4096)), NO_ENCODING),
    Case("nul.txt", _bytes(lambda: b"\x00" * 1000), "empty: no text"),
    Case("empty.md", _bytes(lambda: b""), "empty: no text"),
    # PDF.
    Case("cut.pdf", _bytes(lambda: blank_pdf()[:200]), r"corrupt or unreadable PDF \(.+\)"),
    Case(
        "deep.pdf",
        _bytes(lambda: b"%PDF-1.4\n1 0 obj\n" + b"[" * 100_000 + b"]" * 100_000 + b"\nendobj\n%%EOF"),
        r"corrupt or unreadable PDF \(PdfReadError: startxref not found\)",
    ),
    Case("locked.pdf", _bytes(lambda: blank_pdf("secret")), "encrypted PDF: a password is needed to open it"),
    Case("scan.pdf", _bytes(blank_pdf), r"no extractable text: no text layer, and no images to read by OCR"),
    # Outlook mail: not a compound file, a cut one, and a blank message whose one attachment is a bomb.
    Case(
        "random.msg", _bytes(lambda: os.urandom(4096)), r"not a valid Outlook \.msg file \(not an OLE compound file\)"
    ),
    Case(
        "cut.msg",
        _bytes(lambda: msg_bytes("Cut", GOOD)[:2000]),
        r"not a valid Outlook \.msg file \(OleFileError: .+\)",
    ),
    Case(
        "bomb.msg",
        lambda p: write(
            p, msg_bytes("", "", {"bomb.docx": docx_zip(p.with_suffix(".docx"), spaces_xml(300)).read_bytes()})
        ),
        r"empty: no text in the message, and no attachment could be read \(bomb\.docx: decompression bomb\? "
        r"\.docx file inflates to 300\.\d MB \([\d,]+ bytes\), over the limit of 256 MB \(max_unzipped_mb\)\)",
    ),
]


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def worker():
    """One worker for the whole table: a case that kills it must not cost the next one anything."""
    with LoaderWorker(LIMITS, max_bytes=50 * MB) as shared:
        yield shared


def test_at_least_30_kinds_of_hostile_input() -> None:
    assert len({case.name for case in CASES}) == len(CASES) >= 30


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_hostile_file_fails_alone_with_its_reason(tmp_path: Path, worker: LoaderWorker, case: Case) -> None:
    path = case.make(tmp_path / case.name)
    start = time.monotonic()
    if case.reason is not None:
        with pytest.raises(LoaderError) as caught:
            worker.load(path, case.name)
        assert re.fullmatch(case.reason, caught.value.reason), caught.value.reason
        assert caught.value.source_name == case.name
        assert isinstance(caught.value, UnsupportedFileTypeError) == case.name.endswith(".exe")
    else:
        documents, note = worker.load(path, case.name)
        assert re.fullmatch(case.text, documents[0].text), documents[0].text[:200]
        assert re.fullmatch(case.note, note), note
        assert sum(len(d.text) for d in documents) <= LIMITS.max_text_chars
        assert bool(note) == any(TRUNCATED_KEY in d.metadata for d in documents)
    assert time.monotonic() - start < case.seconds
    # Nothing else is lost: the same worker (or its replacement) reads a good file right after.
    good = write(tmp_path / "good.txt", GOOD.encode())
    assert worker.load(good, "good.txt")[0][0].text == GOOD


# --- the worker's own limits: time, crashes, stray output, memory ---------------------------------------


@pytest.fixture
def misbehaving(monkeypatch: pytest.MonkeyPatch):
    """A worker whose .txt loader does what the file says (see workers/misbehaving_worker.py)."""
    monkeypatch.setenv("PYTHONPATH", str(WORKERS))
    with LoaderWorker(LoadLimits(load_timeout_s=2), worker_module="misbehaving_worker") as misbehaving_worker:
        yield misbehaving_worker


@pytest.mark.parametrize(
    ("action", "reason", "restarts"),
    [
        ("sleep", r"took longer than 2 s to load; stopped \(load_timeout_s\)", 1),
        ("segfault", r"the loader process died reading the file \(crashed with SIGSEGV\)", 1),
        ("exit", r"the loader process died reading the file \(exit status 3\)", 1),
        ("allocate", r"needs more memory than the loader limit of 2,048 MB \(load_memory_mb\)", 1),
        ("print", None, 0),
        ("warn", None, 0),
    ],
)
def test_worker_overruns_are_the_files_reason(
    tmp_path: Path,
    misbehaving: LoaderWorker,
    caplog: pytest.LogCaptureFixture,
    action: str,
    reason: str | None,
    restarts: int,
) -> None:
    path = write(tmp_path / f"{action}.txt", action.encode())
    start = time.monotonic()
    if reason is None:
        assert misbehaving.load(path, path.name)[0][0].text == action
    else:
        with pytest.raises(LoaderError) as caught:
            misbehaving.load(path, path.name)
        assert re.fullmatch(reason, caught.value.reason), caught.value.reason
    assert time.monotonic() - start < 2 + 5
    assert ("careful: warn.txt" in caplog.text) == (action == "warn")
    good = write(tmp_path / "good.txt", GOOD.encode())
    assert misbehaving.load(good, "good.txt")[0][0].text == GOOD
    assert misbehaving.starts == 1 + restarts


def test_memory_limit_stops_a_bomb_the_zip_checks_let_through(tmp_path: Path) -> None:
    # With the decompression checks opened wide, the address-space limit is what stops the 500 MB part.
    loose = LoadLimits(load_memory_mb=400, max_unzipped_mb=10_000, max_zip_ratio=10**6)
    bomb = docx_zip(tmp_path / "bomb.docx", spaces_xml(500))
    with LoaderWorker(loose) as worker:
        with pytest.raises(LoaderError, match=r"^bomb\.docx: needs more memory than the loader limit of 400 MB"):
            worker.load(bomb, "bomb.docx")
        assert worker.load(write(tmp_path / "good.txt", GOOD.encode()), "good.txt")[0][0].text == GOOD
        assert worker.starts == 2


def test_one_worker_serves_many_files(tmp_path: Path, worker: LoaderWorker) -> None:
    starts = worker.starts
    for n in range(50):
        path = write(tmp_path / f"{n}.txt", f"{GOOD} {n}".encode())
        assert worker.load(path, path.name)[0][0].text.endswith(f" {n}")
    assert worker.starts == starts


# --- a whole batch: every bad file is reported alone, every good file is ingested ------------------------


def test_batch_of_bad_files_loses_no_good_file(tmp_path: Path, tiny_settings, tiny_embedder, monkeypatch) -> None:
    from indexer.pipeline import Indexer

    folder = tmp_path / "drop"
    folder.mkdir()
    good = {f"{n}-good.txt": f"{GOOD} Nummer {n}." for n in (1, 3, 5, 7)}
    for name, text in good.items():
        write(folder / name, text.encode())
    hostile = {case.name: case for case in CASES}
    expected = {}
    for n, name in zip((2, 4, 6, 8), ("notes.txt", "loop.txt", "ratio.docx", "deep.eml")):
        case = hostile[name]
        case.make(folder / f"{n}-{name}")
        expected[f"{n}-{name}"] = case.reason
    # Chunked in the ingest process: a run of dots used to be retried from every position (hours at this size).
    write(folder / "9-dots.txt", b"." * 100_000 + b"x")
    write(folder / "0-sleep.txt", b"sleep")
    expected["0-sleep.txt"] = r"took longer than 5 s to load; stopped \(load_timeout_s\)"
    monkeypatch.setenv("PYTHONPATH", str(WORKERS))
    indexer = Indexer(tiny_settings, tiny_embedder)
    indexer.loader = LoaderWorker(LoadLimits(load_timeout_s=5), worker_module="misbehaving_worker")
    try:
        report = indexer.ingest([folder], "drop")
    finally:
        indexer.close()
    outcomes = {f.source_name: (f.status, f.message) for f in report.files}
    assert {name for name, (status, _) in outcomes.items() if status == "added"} == set(good) | {"9-dots.txt"}
    for name, reason in expected.items():
        status, message = outcomes[name]
        assert (status == "failed") == (reason is not None), name
        assert reason is None or re.fullmatch(reason, message), (name, message)
