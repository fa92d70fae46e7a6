"""How chunk embeddings are stored: float16 behind a one-byte tag, float32 rows of older indexes still read.

A stored blob describes itself by its length, so old and new rows can sit side by side (during and after the
migration that converts them):

- float32 (written before schema revision 0002): ``4 * dim`` bytes of little-endian float32, a multiple of 4.
- float16: the tag byte ``0x01`` and ``2 * dim`` bytes of little-endian float16, an odd length.

The store always hands out float32: callers never see the stored format.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sqlalchemy import LargeBinary
from sqlalchemy.types import TypeDecorator

FLOAT16 = 0x01
_F16 = np.dtype("<f2")
_F32 = np.dtype("<f4")


def is_float32(blob: bytes) -> bool:
    """Whether a stored blob is in the float32 format of older indexes (a whole number of float32s)."""
    return len(blob) % 4 == 0


def encode(vector: np.ndarray | bytes) -> bytes:
    """The stored form of one embedding (float16, tagged).

    Args:
        vector: a 1-D array, or float32 bytes (as ``ndarray.tobytes()`` gives); an already encoded blob is
            returned as it is.

    Returns:
        The blob to store.

    Raises:
        ValueError: for bytes that are neither float32 nor an encoded blob.
    """
    if isinstance(vector, bytes | bytearray | memoryview):
        blob = bytes(vector)
        if not is_float32(blob):
            if blob[:1] != bytes([FLOAT16]):
                raise ValueError(f"an embedding blob of {len(blob)} bytes is neither float32 nor tagged float16")
            return blob
        vector = np.frombuffer(blob, dtype=_F32)
    values = np.asarray(vector, dtype=np.float32).ravel()
    # float16 keeps ~3 significant digits: plenty for unit vectors compared by inner product.
    return bytes([FLOAT16]) + values.astype(_F16).tobytes()


def decode(blob: bytes) -> np.ndarray:
    """One stored embedding as a float32 vector, whatever its stored format.

    Raises:
        ValueError: for a blob of an unknown format.
    """
    if is_float32(blob):
        return np.frombuffer(blob, dtype=_F32).copy()
    if blob[:1] != bytes([FLOAT16]):
        raise ValueError(f"an embedding blob of {len(blob)} bytes has the unknown format tag {blob[:1]!r}")
    return np.frombuffer(blob, dtype=_F16, offset=1).astype(np.float32)


def decode_many(blobs: list[bytes]) -> np.ndarray:
    """Stored embeddings of one dimension as a float32 matrix, decoded at once (rows of either format).

    Args:
        blobs: stored blobs, as read from the column's raw bytes.

    Returns:
        A (len(blobs), dim) float32 array.

    Raises:
        ValueError: for blobs of different dimensions or an unknown format.
    """
    if not blobs:
        return np.empty((0, 0), np.float32)
    uniform = len({len(b) for b in blobs}) == 1
    if uniform and is_float32(blobs[0]):
        # Every row float32, as an index of an older release stores them.
        return np.frombuffer(b"".join(blobs), dtype=_F32).reshape(len(blobs), -1).copy()
    if uniform:
        # The usual case, every row float16: one buffer, the tag column dropped, one conversion.
        raw = np.frombuffer(b"".join(blobs), dtype=np.uint8).reshape(len(blobs), -1)
        if np.any(raw[:, 0] != FLOAT16):
            raise ValueError("an embedding blob has an unknown format tag")
        return np.ascontiguousarray(raw[:, 1:]).view(_F16).astype(np.float32)
    rows = [decode(b) for b in blobs]
    if len({len(r) for r in rows}) != 1:
        raise ValueError(f"stored embeddings have different dimensions: {sorted({len(r) for r in rows})}")
    return np.stack(rows)


class EmbeddingBlob(TypeDecorator):
    """The ``chunks.embedding`` column: binds arrays or float32 bytes as float16 blobs, reads float32 bytes.

    The database column stays a plain binary column (BLOB / BYTEA), so this is no schema change.
    """

    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> bytes | None:
        """Encode on the way in (see ``encode``)."""
        return None if value is None else encode(value)

    def process_result_value(self, value: Any, dialect: Any) -> bytes | None:
        """Decode on the way out to float32 bytes, as every reader of the store expects."""
        if value is None:
            return None
        blob = bytes(value)
        return blob if is_float32(blob) else decode(blob).tobytes()
