"""Outlook .msg files, built by the tests as real OLE compound files (extract-msg's own writer).

``msg_bytes`` writes the streams of MS-OXMSG: the message class, subject, bodies and sender as UTF-16
string properties, attachments as ``__attach_version1.0_#n`` storages (by value, or an embedded message),
and the fixed-length properties streams that extract-msg reads the attachment method from.
"""

from __future__ import annotations

import io
import re
import struct
from pathlib import Path

import pytest
from extract_msg.ole_writer import OleWriter

from indexer.errors import LoaderError
from indexer.loaders import LoadLimits, load_file
from indexer.loaders.archive import SKIPPED_KEY
from indexer.loaders.outlook import MSG_MIME

DE = "Die Größe der Straße überrascht viele Besucher. Außerdem gibt es schöne Cafés."
RU = "Вчера вечером мы долго гуляли по набережной и обсуждали планы на лето."
_BY_VALUE, _EMBEDDED = 1, 5
# PR_STORE_SUPPORT_MASK with STORE_UNICODE_OK: string properties are UTF-16 (type 001F).
_UNICODE_STORE = (0x340D0003, 0x40000)


def msg_bytes(subject: str, body: str = "", attachments: dict[str, bytes | dict] | None = None,
              html: str | None = None) -> bytes:  # fmt: skip
    """A .msg file; an attachment given as a dict is an embedded message built from those keyword arguments."""
    writer = OleWriter()
    for name in ("", "/__substg1.0_00020102", "/__substg1.0_00030102", "/__substg1.0_00040102"):
        # The named-property mapping storage every Outlook file has (empty here).
        writer.addEntry("__nameid_version1.0" + name, b"" if name else None, storage=not name)
    _message(writer, "", subject, body, html, attachments or {}, top=True)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def _message(writer: OleWriter, prefix: str, subject: str, body: str, html: str | None,
             attachments: dict[str, bytes | dict], top: bool) -> None:  # fmt: skip
    strings = {"001A": "IPM.Note", "0037": subject, "0C1A": "Anna Schmidt"}
    if body:
        strings["1000"] = body
    for prop, value in strings.items():
        writer.addEntry(f"{prefix}__substg1.0_{prop}001F", value.encode("utf-16-le"))
    if html is not None:
        writer.addEntry(f"{prefix}__substg1.0_10130102", html.encode())
    count = len(attachments)
    # The top-level header has 8 more reserved bytes than an embedded message's.
    header = struct.pack("<8xIIII", 1, count, 1, count) + (b"\0" * 8 if top else b"")
    writer.addEntry(f"{prefix}__properties_version1.0", _properties(header, [_UNICODE_STORE]))
    # One recipient, of type "To" (PR_RECIPIENT_TYPE 1).
    recipient = f"{prefix}__recip_version1.0_#00000000/"
    writer.addEntry(recipient[:-1], storage=True)
    writer.addEntry(recipient + "__substg1.0_3001001F", "Team".encode("utf-16-le"))
    writer.addEntry(recipient + "__substg1.0_39FE001F", "team@example.org".encode("utf-16-le"))
    writer.addEntry(recipient + "__properties_version1.0", _properties(b"\0" * 8, [(0x0C150003, 1)]))
    for number, (name, content) in enumerate(attachments.items()):
        folder = f"{prefix}__attach_version1.0_#{number:08X}/"
        writer.addEntry(folder[:-1], storage=True)
        writer.addEntry(folder + "__substg1.0_3707001F", name.encode("utf-16-le"))
        method = _EMBEDDED if isinstance(content, dict) else _BY_VALUE
        writer.addEntry(folder + "__properties_version1.0", _properties(b"\0" * 8, [(0x37050003, method)]))
        if isinstance(content, dict):
            writer.addEntry(folder + "__substg1.0_3701000D", storage=True)
            inner = {"body": "", "html": None, "attachments": {}} | content
            _message(writer, folder + "__substg1.0_3701000D/", top=False, **inner)
        else:
            writer.addEntry(folder + "__substg1.0_37010102", content)


def _properties(header: bytes, values: list[tuple[int, int]]) -> bytes:
    # Each fixed-length property: tag (id << 16 | type), flags (readable, writable), 8-byte value.
    return header + b"".join(struct.pack("<IIQ", tag, 6, value) for tag, value in values)


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    (tmp_path / name).write_bytes(data)
    return tmp_path / name


def test_message_and_attachments_are_documents(tmp_path: Path) -> None:
    data = msg_bytes("Quartalsbericht", "Siehe die angehängten Dateien.", {
        "notes.txt": RU.encode(), "../../etc/x.md": b"# Titel\n\nText.", "broken.pdf": b"%PDF-1.4 broken",
        "logo.gif": b"GIF89a", "forward.msg": {"subject": "Weitergeleitet", "body": DE},
    })  # fmt: skip
    documents = load_file(write(tmp_path, "mail.msg", data))
    assert [(d.source_name, d.text) for d in documents] == [
        ("mail.msg", "Siehe die angehängten Dateien."),
        ("mail.msg/notes.txt", RU),
        ("mail.msg/.._.._etc_x.md", "# Titel\n\nText."),
        ("mail.msg/forward.msg", DE),
    ]
    first = documents[0]
    assert (first.title, first.mime) == ("Quartalsbericht", MSG_MIME)
    assert first.metadata["from"] == "Anna Schmidt" and "team@example.org" in first.metadata["to"]
    assert all(d.metadata["attachment_of"] == "mail.msg" for d in documents[1:])
    assert documents[3].title == "Weitergeleitet"
    # Unsupported types are left out silently; a supported one that fails is noted, as for .eml.
    assert first.metadata[SKIPPED_KEY] == [
        "broken.pdf: corrupt or unreadable PDF (PdfStreamError: Stream has ended unexpectedly)"
    ]
    assert list(tmp_path.iterdir()) == [tmp_path / "mail.msg"], "nothing is extracted to disk"


def test_html_body_is_read_without_markup(tmp_path: Path) -> None:
    html = f"<html><body><p>{DE}</p><script>alert(1)</script></body></html>"
    [document] = load_file(write(tmp_path, "html.msg", msg_bytes("HTML", html=html)))
    assert document.text == DE


def test_a_message_with_only_attachments_gives_their_documents(tmp_path: Path) -> None:
    documents = load_file(write(tmp_path, "only.msg", msg_bytes("x", "", {"a.txt": DE.encode()})))
    assert [d.source_name for d in documents] == ["only.msg/a.txt"]


def test_embedded_messages_are_bounded_by_depth(tmp_path: Path) -> None:
    inner: dict = {"subject": "level 3", "body": "drei"}
    for level in (2, 1):
        inner = {"subject": f"level {level}", "body": f"Ebene {level}", "attachments": {f"l{level + 1}.msg": inner}}
    data = msg_bytes("top", "oben", {"l1.msg": inner})
    documents = load_file(write(tmp_path, "deep.msg", data), limits=LoadLimits(max_archive_depth=2))
    assert [d.source_name for d in documents] == ["deep.msg", "deep.msg/l1.msg", "deep.msg/l1.msg/l2.msg"]
    assert documents[2].metadata[SKIPPED_KEY] == ["l3.msg: attachment nested deeper than 2 (max_archive_depth)"]


@pytest.mark.parametrize(
    ("limits", "skipped"),
    [
        (LoadLimits(max_zip_members=2), ["c.txt: more than 2 attachments (max_zip_members)"]),
        (
            LoadLimits(max_unzipped_mb=1),
            ["c.txt: attachments larger than 1 MB in all (max_unzipped_mb)"],
        ),
    ],
)
def test_attachments_are_bounded_like_archive_members(tmp_path: Path, limits: LoadLimits, skipped: list) -> None:
    half = b"x " * 300_000
    data = msg_bytes("many", "Haupttext.", {"a.txt": half, "b.txt": DE.encode(), "c.txt": half})
    documents = load_file(write(tmp_path, "many.msg", data), limits=limits)
    assert [d.source_name for d in documents] == ["many.msg", "many.msg/a.txt", "many.msg/b.txt"]
    assert documents[0].metadata[SKIPPED_KEY] == skipped


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("random.msg", lambda: b"\x13\x37" * 2000, r"not a valid Outlook \.msg file \(not an OLE compound file\)"),
        ("cut.msg", lambda: msg_bytes("Cut", DE)[:1600], r"not a valid Outlook \.msg file \(.+\)"),
        ("blank.msg", lambda: msg_bytes("Nothing", "  "), r"^empty: no text$"),
        ("text.msg", lambda: DE.encode() * 40, r"not a valid Outlook \.msg file \(not an OLE compound file\)"),
    ],
)
def test_broken_msg_files_fail_with_a_reason(tmp_path: Path, name: str, data, reason: str) -> None:
    with pytest.raises(LoaderError) as caught:
        load_file(write(tmp_path, name, data()))
    assert caught.value.source_name == name
    assert re.search(reason, caught.value.reason), caught.value.reason


def test_an_msg_inside_a_zip_is_read(tmp_path: Path) -> None:
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("mail/report.msg", msg_bytes("Bericht", DE, {"a.txt": RU.encode()}))
    documents = load_file(write(tmp_path, "box.zip", buffer.getvalue()))
    assert [d.source_name for d in documents] == ["box.zip/mail/report.msg", "box.zip/mail/report.msg/a.txt"]
