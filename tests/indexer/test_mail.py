"""E-mail attachments as documents of their own, and mailboxes (.mbox) of many messages."""

from __future__ import annotations

import io
import re
import zipfile
from email.message import EmailMessage
from pathlib import Path

import pytest

from indexer.errors import LoaderError
from indexer.loaders import load_file
from indexer.loaders.archive import SKIPPED_KEY

DE = "Die Größe der Straße überrascht viele Besucher. Außerdem gibt es schöne Cafés."
RU = "Вчера вечером мы долго гуляли по набережной и обсуждали планы на лето."


def message(subject: str, body: str, attachments: dict[str, bytes] | None = None) -> EmailMessage:
    mail = EmailMessage()
    mail["Subject"], mail["From"], mail["To"] = subject, "anna@example.org", "team@example.org"
    mail.set_content(body)
    for name, data in (attachments or {}).items():
        mail.add_attachment(data, maintype="application", subtype="octet-stream", filename=name)
    return mail


def zip_of(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_attachments_are_child_documents(tmp_path: Path) -> None:
    forwarded = message("Weitergeleitet", DE)
    mail = message("Report", "See the attached files.", {
        "notes.txt": RU.encode(), "photo.jpg": b"\xff\xd8\xff", "invite.ics": b"BEGIN:VCALENDAR",
        "../../etc/x.md": b"# Titel\n\nText.",
        "bundle.zip": zip_of({"inner/a.txt": DE.encode()}), "broken.pdf": b"%PDF-1.4 broken",
    })  # fmt: skip
    mail.add_attachment(forwarded)
    (tmp_path / "mail.eml").write_bytes(mail.as_bytes())
    documents = load_file(tmp_path / "mail.eml")
    assert [(d.source_name, d.text) for d in documents] == [
        ("mail.eml", "See the attached files."),
        ("mail.eml/notes.txt", RU),
        ("mail.eml/.._.._etc_x.md", "# Titel\n\nText."),
        ("mail.eml/bundle.zip/inner/a.txt", DE),
        ("mail.eml/message-7.eml", DE),
    ]
    assert all(d.metadata["attachment_of"] == "mail.eml" for d in documents[1:])
    # Unsupported types are left out silently; supported ones that fail are noted (images are read by OCR).
    assert documents[0].metadata[SKIPPED_KEY] == [
        "photo.jpg: not a readable image (unknown or broken image format)",
        "broken.pdf: corrupt or unreadable PDF (PdfStreamError: Stream has ended unexpectedly)",
    ]


def test_a_message_with_only_attachments_gives_their_documents(tmp_path: Path) -> None:
    (tmp_path / "only.eml").write_bytes(message("x", " ", {"a.txt": DE.encode()}).as_bytes())
    assert [d.source_name for d in load_file(tmp_path / "only.eml")] == ["only.eml/a.txt"]


def test_mbox_messages_and_their_attachments(tmp_path: Path) -> None:
    mails = [message("Eins", DE), message("Leer", " "), message("Zwei", RU, {"a.txt": b"Anhang eins."})]
    mbox = b"".join(b"From anna@example.org Tue Jan  2 10:00:00 2024\n" + m.as_bytes() + b"\n" for m in mails)
    (tmp_path / "box.mbox").write_bytes(mbox)
    documents = load_file(tmp_path / "box.mbox")
    assert [(d.source_name, d.title) for d in documents] == [
        ("box.mbox/message-1.eml", "Eins"), ("box.mbox/message-3.eml", "Zwei"),
        ("box.mbox/message-3.eml/a.txt", "a"),
    ]  # fmt: skip
    assert documents[0].metadata[SKIPPED_KEY] == ["message-2.eml: empty: no text"]
    assert list(tmp_path.iterdir()) == [tmp_path / "box.mbox"]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty: no text"),
        (b"not a mailbox at all\n", r"empty: no text in any message of the mailbox \(no messages\)"),
        (
            b"From x\nSubject: a\n\n \n",
            r"empty: no text in any message of the mailbox \(message-1\.eml: empty: "
            r"no text\)",
        ),  # fmt: skip
    ],
)
def test_broken_mailboxes(tmp_path: Path, data: bytes, reason: str) -> None:
    (tmp_path / "box.mbox").write_bytes(data)
    with pytest.raises(LoaderError) as caught:
        load_file(tmp_path / "box.mbox")
    assert re.fullmatch(reason, caught.value.reason), caught.value.reason
