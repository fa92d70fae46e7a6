"""Milvus helpers: filter expressions over chunk ids, and URIs with their password hidden."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import numpy as np

#: Runs of consecutive allowed ids at least this long become a range term of the filter expression.
MIN_RUN = 8
#: Past this many range terms the filter is a plain id list (the expression stays simple to parse).
MAX_RANGES = 512


def safe_uri(uri: str) -> str:
    """The URI without its password, for logs, messages and the index metadata.

    Args:
        uri: a Milvus URI, possibly ``http://user:password@host:19530``.

    Returns:
        The URI with the password replaced by ``***``.
    """
    parts = urlsplit(uri)
    if parts.password is None:
        return uri
    netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def id_filter(allowed: np.ndarray) -> str:
    """A Milvus boolean expression admitting exactly these ids.

    Chunks of one document (and of one ingest) have consecutive ids, so a collection or language filter is
    mostly runs: those become ``id >= a and id <= b`` terms, which keeps the expression short.

    Args:
        allowed: int64 ids.

    Returns:
        The expression, e.g. ``(id >= 10 and id <= 99) or id in [3, 5]``.
    """
    ids = np.unique(np.asarray(allowed, dtype=np.int64))
    breaks = np.flatnonzero(np.diff(ids) != 1) + 1
    runs = np.split(ids, breaks) if len(ids) else []
    long_runs = [r for r in runs if len(r) >= MIN_RUN]
    if not long_runs or len(long_runs) > MAX_RANGES:
        return f"id in [{', '.join(map(str, ids.tolist()))}]"
    terms = [f"(id >= {r[0]} and id <= {r[-1]})" for r in long_runs]
    singles = [int(i) for r in runs if len(r) < MIN_RUN for i in r]
    if singles:
        terms.append(f"id in [{', '.join(map(str, singles))}]")
    return " or ".join(terms)
