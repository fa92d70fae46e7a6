"""Loader for e-mail messages (.eml), with the standard library's email package."""

from __future__ import annotations

import email
import logging
import mailbox
import tempfile
from collections.abc import Callable, Iterator
from email import policy
from email.message import EmailMessage, Message
from email.utils import parsedate_to_datetime
from functools import partial
from pathlib import Path
from typing import Any

from indexer.errors import LoaderError, UnsupportedFileTypeError
from indexer.loaders.archive import SKIPPED_KEY, MemberLoader
from indexer.loaders.common import EMPTY_REASON, clip_title, decode_text, make_document
from indexer.loaders.markup import parse_html, soup_text
from indexer.types import LoadedDocument

logger = logging.getLogger(__name__)

EML_MIME = "message/rfc822"
_ADDRESS_HEADERS = ("from", "to", "cc")


def load_eml(
    data: bytes, source_name: str, load_member: MemberLoader | None = None, depth: int = 0, max_depth: int = 3
) -> list[LoadedDocument]:
    """Load an e-mail: the text/plain body, else the text/html body stripped of markup, then its attachments.

    Args:
        data: raw file content.
        source_name: display name of the file.
        load_member: loads an attachment's bytes by its file name's extension; None ignores attachments.
        depth: how many containers (archives, messages) enclose this message.
        max_depth: deepest nesting of attachments read.

    Returns:
        The message, titled by the subject (from, to, cc and date in its metadata), then each attachment's
        documents, named ``<message>/<attachment file name>`` with ``attachment_of`` in their metadata.

    Raises:
        LoaderError: if neither the body nor any attachment has text.
    """
    message = email.message_from_bytes(data, policy=policy.default)
    if not isinstance(message, EmailMessage):
        raise LoaderError(source_name, "not an e-mail message")
    text = _body_text(message, source_name)
    metadata = _header_metadata(message)
    title = metadata.pop("subject", "")
    children, skipped = _attachments(message, source_name, load_member, depth, max_depth)
    if not text.strip() and children:
        documents = children
    else:
        documents = [make_document(text, source_name, EML_MIME, title=title, metadata=metadata), *children]
    if skipped:
        documents[0].metadata[SKIPPED_KEY] = skipped
    return documents


def load_mbox(
    data: bytes, source_name: str, load_member: MemberLoader | None = None, depth: int = 0, max_depth: int = 3
) -> list[LoadedDocument]:
    """Load a mailbox (.mbox): every message, with its attachments, as ``<mailbox>/message-<n>.eml``.

    Args:
        data: raw file content.
        source_name: display name of the file.
        load_member: loads attachments by their file names' extensions; None ignores attachments.
        depth: how many containers enclose this mailbox.
        max_depth: deepest nesting of attachments read.

    Returns:
        The documents of every message with text, in mailbox order.

    Raises:
        LoaderError: if no message has text.
    """
    documents: list[LoadedDocument] = []
    skipped: list[str] = []
    for number, raw in enumerate(_mbox_messages(data), start=1):
        name = f"message-{number}.eml"
        try:
            documents += load_eml(raw, f"{source_name}/{name}", load_member, depth + 1, max_depth)
        except LoaderError as e:
            skipped.append(f"{name}: {e.reason}")
    if not documents:
        detail = "; ".join(skipped[:3]) or "no messages"
        raise LoaderError(source_name, f"{EMPTY_REASON} in any message of the mailbox ({detail})")
    if skipped:
        documents[0].metadata.setdefault(SKIPPED_KEY, []).extend(skipped)
    return documents


def _mbox_messages(data: bytes) -> Iterator[bytes]:
    # The standard library reads mailboxes from a path: the bytes go to a private spool file with a generated name.
    with tempfile.TemporaryDirectory(prefix="babelsearch-mbox-") as spool:
        path = Path(spool) / "spool.mbox"
        path.write_bytes(data)
        box = mailbox.mbox(path, create=False)
        try:
            for key in box.iterkeys():
                yield box.get_bytes(key)
        finally:
            box.close()


def _attachments(
    message: EmailMessage, source_name: str, load_member: MemberLoader | None, depth: int, max_depth: int
) -> tuple[list[LoadedDocument], list[str]]:
    documents: list[LoadedDocument] = []
    skipped: list[str] = []
    if load_member is None:
        return documents, skipped
    for number, part in enumerate(message.iter_attachments(), start=1):
        name, content = _attachment(part, number)
        if depth >= max_depth:
            skipped.append(f"{name}: attachment nested deeper than {max_depth} (max_archive_depth)")
            continue
        read = partial(load_member, content, f"{source_name}/{name}", depth + 1)
        documents += read_attachment(read, name, source_name, skipped)
    return documents, skipped


def read_attachment(read: Callable[[], list[LoadedDocument]], name: str, parent: str,
                    skipped: list[str]) -> list[LoadedDocument]:  # fmt: skip
    """Read one attachment of a message (.eml, .mbox, .msg) into child documents linked to their message.

    Args:
        read: loads the attachment's documents.
        name: the attachment's name, for the report.
        parent: the message's source name (``attachment_of`` of each child).
        skipped: where a failed attachment's reason goes.

    Returns:
        The child documents (none for an unsupported type or a failure).
    """
    try:
        children = read()
    except UnsupportedFileTypeError:
        # Pictures, signatures and invitations ride on most mail: not worth a note each.
        return []
    except LoaderError as e:
        skipped.append(f"{name}: {e.reason}")
        return []
    for child in children:
        child.metadata.setdefault("attachment_of", parent)
    return children


def _attachment(part: Message, number: int) -> tuple[str, bytes]:
    # A forwarded message is an attachment too: read as an .eml of its own.
    if part.get_content_type() == "message/rfc822":
        inner = part.get_payload(0) if part.is_multipart() else None
        data = inner.as_bytes() if isinstance(inner, Message) else b""
        return safe_name(part.get_filename() or f"message-{number}.eml", ".eml"), data
    payload = part.get_payload(decode=True)
    content = payload if isinstance(payload, bytes) else b""
    return safe_name(part.get_filename() or f"attachment-{number}", ""), content


def safe_name(name: str, default_suffix: str) -> str:
    """An attachment's display name: printable, without path separators, ending in ``default_suffix``.

    Args:
        name: the name the message gives.
        default_suffix: appended when the name does not end with it ("" for none).

    Returns:
        The name, "attachment" when nothing printable is left.
    """
    name = "".join(ch for ch in str(name) if ch.isprintable()).strip()
    name = name.replace("/", "_").replace("\\", "_") or "attachment"
    return name if not default_suffix or name.lower().endswith(default_suffix) else name + default_suffix


def _body_text(message: EmailMessage, source_name: str) -> str:
    for kind in ("plain", "html"):
        part = message.get_body(preferencelist=(kind,))
        if part is None:
            continue
        content = _part_content(part, source_name)
        if kind == "html":
            content = soup_text(parse_html(content)[0], source_name)
        if content.strip():
            return content
    return ""


def _part_content(part: Message, source_name: str) -> str:
    try:
        content = part.get_content()  # type: ignore[attr-defined]
        return content if isinstance(content, str) else ""
    except (LookupError, ValueError, AssertionError) as e:
        # Unknown or wrong charset label: decode the raw payload by detection instead.
        logger.warning("%s: e-mail body charset unusable (%s), detecting it", source_name, e)
        payload = part.get_payload(decode=True)
        return decode_text(payload, source_name)[0] if isinstance(payload, bytes) else ""


def _header_metadata(message: EmailMessage) -> dict[str, Any]:
    metadata: dict[str, Any] = {}
    try:
        metadata["subject"] = clip_title(str(message.get("subject", "")))
        for name in _ADDRESS_HEADERS:
            value = message.get(name)
            if value:
                metadata[name] = " ".join(str(value).split())
        date = message.get("date")
        if date:
            metadata["date"] = _iso_date(str(date))
    except (ValueError, TypeError, IndexError) as e:
        # Malformed headers keep whatever was read; the body is what matters.
        logger.warning("e-mail header unreadable (%s)", e)
    return {key: value for key, value in metadata.items() if value}


def _iso_date(value: str) -> str:
    try:
        return parsedate_to_datetime(value).isoformat()
    except (TypeError, ValueError):
        return value
