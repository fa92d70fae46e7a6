"""Loader for Outlook messages (.msg, OLE compound files), with extract-msg; attachments read like e-mail ones.

Attachments are bounded like archive members: their count (``max_zip_members``), their total size
(``max_unzipped_mb``) and the nesting of messages in messages (``max_archive_depth``).
"""

from __future__ import annotations

import logging
from datetime import datetime
from functools import partial
from typing import Any

from indexer.errors import LoaderError
from indexer.loaders.archive import SKIPPED_KEY, MemberLoader
from indexer.loaders.common import EMPTY_REASON, clip_title, make_document
from indexer.loaders.limits import LoadLimits
from indexer.loaders.mail import read_attachment, safe_name
from indexer.loaders.markup import parse_html, soup_text
from indexer.types import LoadedDocument

logger = logging.getLogger(__name__)

MSG_MIME = "application/vnd.ms-outlook"
_MB = 1024 * 1024
# extract-msg logs every oddity of a file at warning level or above; the report names what matters.
logging.getLogger("extract_msg").setLevel(logging.CRITICAL + 1)


class _Allowance:
    """Attachments and bytes left to one .msg file and the messages embedded in it."""

    def __init__(self, limits: LoadLimits) -> None:
        self.limits = limits
        self.members = limits.max_zip_members
        self.bytes = limits.max_unzipped_mb * _MB

    def spend(self, size: int) -> str:
        """Count one attachment of ``size`` bytes; the reason it is refused, or "" when it fits."""
        self.members -= 1
        if self.members < 0:
            return f"more than {self.limits.max_zip_members:,} attachments (max_zip_members)"
        if size > self.bytes:
            return f"attachments larger than {self.limits.max_unzipped_mb} MB in all (max_unzipped_mb)"
        self.bytes -= size
        return ""


def load_msg(
    data: bytes, source_name: str, load_member: MemberLoader | None = None, depth: int = 0,
    limits: LoadLimits | None = None,
) -> list[LoadedDocument]:  # fmt: skip
    """Load an Outlook message: its plain-text body (else its HTML body without markup), then its attachments.

    Args:
        data: raw file content.
        source_name: display name of the file.
        load_member: loads an attachment's bytes by its file name's extension; None ignores attachments.
        depth: how many containers (archives, messages) enclose this message.
        limits: attachment bounds; the defaults when None.

    Returns:
        The message, titled by its subject (from, to, cc and date in its metadata), then each attachment's
        documents, named ``<message>/<attachment file name>`` with ``attachment_of`` in their metadata;
        embedded messages are read the same way, one level deeper.

    Raises:
        LoaderError: if the file is not a readable .msg, or neither the body nor any attachment has text.
    """
    import extract_msg
    from extract_msg.exceptions import ExMsgBaseException

    try:
        # strict=False: calendar items, contacts and unknown classes open as plain messages.
        message = extract_msg.openMsg(data, strict=False, delayAttachments=True)
    except ExMsgBaseException as e:
        raise LoaderError(source_name, f"not a valid Outlook .msg file ({_why(e)})") from e
    except (OSError, ValueError, KeyError, IndexError, TypeError, AttributeError, UnicodeError) as e:
        # olefile reports broken compound files through plain Python errors.
        raise LoaderError(source_name, f"not a valid Outlook .msg file ({type(e).__name__}: {e})") from e
    try:
        return _read(message, source_name, load_member, depth, _Allowance(limits or LoadLimits()))
    finally:
        message.close()


def _read(
    message: Any, source_name: str, load_member: MemberLoader | None, depth: int, allowance: _Allowance
) -> list[LoadedDocument]:
    text = _body_text(message, source_name)
    metadata = _header_metadata(message, source_name)
    children, skipped = _attachments(message, source_name, load_member, depth, allowance)
    if not text.strip() and children:
        documents = children
    elif not text.strip() and skipped:
        # Nothing readable: the attachments' reasons say more than "empty".
        raise LoaderError(source_name, f"{EMPTY_REASON} in the message, and no attachment could be read "
                                       f"({'; '.join(skipped[:3])})")  # fmt: skip
    else:
        title = clip_title(_string(message, "subject"))
        documents = [make_document(text, source_name, MSG_MIME, title=title, metadata=metadata), *children]
    if skipped:
        documents[0].metadata.setdefault(SKIPPED_KEY, []).extend(skipped)
    return documents


def _attachments(
    message: Any, source_name: str, load_member: MemberLoader | None, depth: int, allowance: _Allowance
) -> tuple[list[LoadedDocument], list[str]]:
    documents: list[LoadedDocument] = []
    skipped: list[str] = []
    if load_member is None:
        return documents, skipped
    try:
        attachments = list(message.attachments)
    except Exception as e:  # noqa: BLE001 - broken attachment storages must not lose the message body
        logger.info("%s: attachments unreadable (%s)", source_name, e)
        return documents, [f"attachments: unreadable ({_why(e)})"]
    for number, attachment in enumerate(attachments, start=1):
        name, content = _attachment(attachment, number)
        child_name = f"{source_name}/{name}"
        reason = _refusal(content, depth, allowance)
        if reason:
            skipped.append(f"{name}: {reason}")
            continue
        if isinstance(content, bytes):
            read = partial(load_member, content, child_name, depth + 1)
        else:
            # An embedded message is read as the object extract-msg already opened, one level deeper.
            read = partial(_read, content, child_name, load_member, depth + 1, allowance)
        documents += read_attachment(read, name, source_name, skipped)
    return documents, skipped


def _refusal(content: Any, depth: int, allowance: _Allowance) -> str:
    if content is None:
        return "no data (a link or an unsupported kind of attachment)"
    if depth >= allowance.limits.max_archive_depth:
        return f"attachment nested deeper than {allowance.limits.max_archive_depth} (max_archive_depth)"
    return allowance.spend(len(content) if isinstance(content, bytes) else 0)


def _attachment(attachment: Any, number: int) -> tuple[str, Any]:
    # Bytes for a file, an opened message for an embedded one, None for links and broken ones.
    from extract_msg.enums import AttachmentType

    kind = getattr(attachment, "type", None)
    embedded = kind in (AttachmentType.MSG, AttachmentType.SIGNED_EMBEDDED)
    default = f"message-{number}.msg" if embedded else f"attachment-{number}"
    try:
        name = attachment.longFilename or attachment.shortFilename or getattr(attachment, "name", None) or default
    except Exception:  # noqa: BLE001 - a broken name stream: the attachment keeps a numbered name
        name = default
    data = attachment.data if embedded or kind in (AttachmentType.DATA, AttachmentType.SIGNED) else None
    if isinstance(data, bytes) == embedded:
        # An embedded message must be an opened message, a file attachment bytes; anything else has no data.
        data = None
    return safe_name(str(name), ".msg" if embedded else ""), data


def _body_text(message: Any, source_name: str) -> str:
    try:
        body = getattr(message, "body", None)
        if isinstance(body, str) and body.strip():
            return body
        html = getattr(message, "htmlBody", None)
    except Exception as e:  # noqa: BLE001 - a broken body stream: the attachments may still be read
        logger.info("%s: message body unreadable (%s)", source_name, e)
        return ""
    if isinstance(html, bytes) and html.strip():
        return soup_text(parse_html(html)[0], source_name)
    return ""


def _header_metadata(message: Any, source_name: str) -> dict[str, Any]:
    metadata: dict[str, Any] = {"from": _string(message, "sender")}
    for name in ("to", "cc"):
        metadata[name] = _string(message, name)
    try:
        date = getattr(message, "date", None)
        if isinstance(date, datetime):
            metadata["date"] = date.isoformat()
    except Exception as e:  # noqa: BLE001 - a malformed date keeps the rest of the headers
        logger.info("%s: message date unreadable (%s)", source_name, e)
    return {key: value for key, value in metadata.items() if value}


def _string(message: Any, name: str) -> str:
    try:
        value = getattr(message, name, None)
    except Exception:  # noqa: BLE001 - a malformed header is left out, the message is kept
        return ""
    return " ".join(value.split()) if isinstance(value, str) else ""


def _why(error: Exception) -> str:
    text = str(error)
    if "not an OLE2 structured storage file" in text:
        return "not an OLE compound file"
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
