"""Loader for e-mail messages (.eml), with the standard library's email package."""

from __future__ import annotations

import email
import logging
from email import policy
from email.message import EmailMessage, Message
from email.utils import parsedate_to_datetime
from typing import Any

from indexer.errors import LoaderError
from indexer.loaders.common import clip_title, decode_text, make_document
from indexer.loaders.markup import parse_html, soup_text
from indexer.types import LoadedDocument

logger = logging.getLogger(__name__)

EML_MIME = "message/rfc822"
_ADDRESS_HEADERS = ("from", "to", "cc")


def load_eml(data: bytes, source_name: str) -> list[LoadedDocument]:
    """Load an e-mail: the text/plain body, else the text/html body stripped of markup.

    Args:
        data: raw file content.
        source_name: display name of the file.

    Returns:
        One document titled by the subject; from, to, cc and date go into its metadata.

    Raises:
        LoaderError: if the message has no readable text body.
    """
    message = email.message_from_bytes(data, policy=policy.default)
    if not isinstance(message, EmailMessage):
        raise LoaderError(source_name, "not an e-mail message")
    text = _body_text(message, source_name)
    metadata = _header_metadata(message)
    return [make_document(text, source_name, EML_MIME, title=metadata.pop("subject", ""), metadata=metadata)]


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
