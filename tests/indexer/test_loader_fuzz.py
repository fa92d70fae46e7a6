"""Property tests: whatever the bytes, every loader gives documents with clean text or a LoaderError naming the file.

Each loader gets mutations of a valid file of its type (bit flips, inserted and deleted runs, truncation)
and arbitrary bytes. Short in the suite; ``BABELSEARCH_FUZZ_EXAMPLES=5000`` runs it longer on demand.
"""

from __future__ import annotations

import io
import json
import os
import tarfile
import zipfile
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path

import docx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pdfs import pdf_bytes
from PIL import Image, ImageDraw
from test_loaders_msg import msg_bytes
from test_office import RTF, odt_bytes, pptx_bytes, xlsx_bytes

from indexer.errors import LoaderError
from indexer.loaders import SUPPORTED_EXTENSIONS, load_file

EXAMPLES = int(os.environ.get("BABELSEARCH_FUZZ_EXAMPLES", "30"))
TEXT = "Вчера вечером мы гуляли по набережной. Die Straße war voller Cafés. 今天天气很好。"


def _pdf() -> bytes:
    return pdf_bytes([["Page one of the fuzzing seed."]], title="Fuzz")


def _docx() -> bytes:
    document = docx.Document()
    document.add_heading("Fuzz", level=1)
    document.add_paragraph(TEXT)
    document.add_table(rows=1, cols=2).cell(0, 1).text = "cell"
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


IMAGE_KINDS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".tif": "TIFF", ".tiff": "TIFF", ".webp": "WEBP"}


def _image(kind: str) -> bytes:
    # Small, so that OCR of each example is quick; a missing Tesseract is a LoaderError, also allowed.
    image = Image.new("L", (160, 40), 255)
    ImageDraw.Draw(image).text((5, 10), "Fuzz 123", fill=0)
    buffer = io.BytesIO()
    image.save(buffer, kind)
    return buffer.getvalue()


def _archive(mode: str) -> bytes:
    members = {"a.txt": TEXT.encode(), "b.docx": _docx(), "c/d.html": f"<p>{TEXT}</p>".encode()}
    buffer = io.BytesIO()
    if mode == "zip":
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, data in members.items():
                archive.writestr(name, data)
        return buffer.getvalue()
    with tarfile.open(fileobj=buffer, mode=mode) as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _eml() -> bytes:
    message = EmailMessage()
    message["Subject"] = "Fuzz"
    message["From"] = "a@example.org"
    message.set_content(TEXT)
    message.add_alternative(f"<p>{TEXT}</p>", subtype="html")
    message.add_attachment(TEXT.encode(), maintype="text", subtype="plain", filename="note.txt")
    return message.as_bytes()


SEEDS: dict[str, Callable[[], bytes]] = {
    ".txt": lambda: TEXT.encode("utf-16"),
    ".md": lambda: f"# Titel\n\n{TEXT}\n\n```\ncode\n```\n".encode(),
    ".html": lambda: f"<html lang=ru><title>T</title><pre> x </pre><table><tr><td>{TEXT}</td></tr></table>".encode(),
    ".htm": lambda: f"<p>{TEXT}<br>zwei</p>".encode("cp1252", errors="replace"),
    ".pdf": _pdf,
    ".docx": _docx,
    ".csv": lambda: f'text,n\n"{TEXT}",1\n"zwei, drei",2\n'.encode(),
    ".jsonl": lambda: (json.dumps({"text": TEXT, "n": 1}) + "\n" + json.dumps({"text": "zwei"})).encode(),
    ".eml": _eml,
    ".mbox": lambda: b"From a@example.org Tue Jan  2 10:00:00 2024\n" + _eml() + b"\nFrom b\n" + _eml(),
    ".msg": lambda: msg_bytes("Fuzz", TEXT, {"note.txt": TEXT.encode(), "fwd.msg": {"subject": "F", "body": TEXT}}),
    ".pptx": lambda: pptx_bytes(),
    ".xlsx": lambda: xlsx_bytes(),
    ".odt": lambda: odt_bytes(),
    ".rtf": lambda: RTF,
    **{extension: (lambda kind=kind: _image(kind)) for extension, kind in IMAGE_KINDS.items()},
    ".zip": lambda: _archive("zip"),
    ".tar": lambda: _archive("w"),
    ".tgz": lambda: _archive("w:gz"),
    ".tar.gz": lambda: _archive("w:gz"),
}


@st.composite
def mutations(draw: st.DrawFn, seed: bytes) -> bytes:
    """A valid file damaged a few times: flipped bytes, inserted or deleted runs, a cut end."""
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        kind = draw(st.sampled_from(("flip", "insert", "delete", "truncate")))
        if kind == "flip" and data:
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=64))
        elif kind == "delete":
            del data[at : at + draw(st.integers(1, 64))]
        else:
            del data[at:]
    return bytes(data)


def test_every_loader_is_fuzzed() -> None:
    assert set(SEEDS) == SUPPORTED_EXTENSIONS


@pytest.mark.parametrize("extension", sorted(SEEDS))
def test_only_documents_or_loader_errors(tmp_path: Path, extension: str) -> None:
    seed = SEEDS[extension]()
    path = tmp_path / f"fuzz{extension}"
    if extension not in IMAGE_KINDS:
        assert load_file(_write(path, seed)), "the seed itself must load"

    # OCR takes a moment per example: images get a third of the examples.
    examples = EXAMPLES if extension not in IMAGE_KINDS else max(EXAMPLES // 3, 5)

    @settings(max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(st.one_of(mutations(seed), st.binary(max_size=4096)))
    def check(data: bytes) -> None:
        try:
            documents = load_file(_write(path, data))
        except LoaderError as e:
            assert e.source_name == path.name and e.reason
            return
        assert documents
        for document in documents:
            assert document.text and document.text == document.text.strip() and "\x00" not in document.text
            assert document.title and document.source_name.split("/")[0] == path.name
            json.dumps(document.metadata)

    check()


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path
