"""Stored embedding format: float16 behind a tag byte, float32 rows of older indexes still read."""

from __future__ import annotations

import numpy as np
import pytest

from indexer.store import vector_codec
from indexer.store.vector_codec import EmbeddingBlob

VECTOR = np.array([0.5, -0.25, 0.125, 1e-4, -0.999], dtype=np.float32)


@pytest.mark.parametrize(
    "given",
    [VECTOR, VECTOR.tobytes(), memoryview(VECTOR.tobytes()), vector_codec.encode(VECTOR)],
    ids=["array", "float32 bytes", "memoryview", "already encoded"],
)
def test_every_input_form_encodes_to_the_same_tagged_float16_blob(given: object) -> None:
    blob = vector_codec.encode(given)
    assert blob[0] == vector_codec.FLOAT16 and len(blob) == 1 + 2 * len(VECTOR)
    assert not vector_codec.is_float32(blob)
    np.testing.assert_allclose(vector_codec.decode(blob), VECTOR, atol=5e-4)


@pytest.mark.parametrize("dim", [1, 2, 3, 384, 1023])
def test_formats_are_told_apart_by_length_at_any_dimension(dim: int) -> None:
    vector = np.linspace(-1, 1, dim, dtype=np.float32)
    assert vector_codec.is_float32(vector.tobytes())
    assert not vector_codec.is_float32(vector_codec.encode(vector))
    assert vector_codec.decode(vector.tobytes()).dtype == np.float32
    np.testing.assert_array_equal(vector_codec.decode(vector.tobytes()), vector)


@pytest.mark.parametrize(
    "blob, message",
    [(b"\x02" + b"\x00" * 4, "unknown format tag"), (b"\x07\x00\x00", "unknown format tag")],
)
def test_a_blob_of_an_unknown_format_is_refused_by_name(blob: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        vector_codec.decode(blob)
    with pytest.raises(ValueError, match="neither float32 nor tagged float16"):
        vector_codec.encode(blob)


def test_the_column_type_writes_float16_and_reads_float32_bytes() -> None:
    column = EmbeddingBlob()
    stored = column.process_bind_param(VECTOR.tobytes(), None)
    assert len(stored) == 1 + 2 * len(VECTOR)
    read = column.process_result_value(stored, None)
    np.testing.assert_allclose(np.frombuffer(read, np.float32), VECTOR, atol=5e-4)
    assert column.process_result_value(VECTOR.tobytes(), None) == VECTOR.tobytes()
    assert column.process_bind_param(None, None) is None and column.process_result_value(None, None) is None


@pytest.mark.parametrize(
    "formats", [["f2"] * 4, ["f4"] * 4, ["f2", "f4", "f2", "f4"]], ids=["float16", "float32", "mixed"]
)
def test_a_batch_decodes_to_one_matrix_whatever_its_rows_formats(formats: list[str]) -> None:
    vectors = np.random.default_rng(0).standard_normal((4, 8)).astype(np.float32)
    blobs = [vector_codec.encode(v) if f == "f2" else v.tobytes() for v, f in zip(vectors, formats)]
    decoded = vector_codec.decode_many(blobs)
    assert decoded.dtype == np.float32 and decoded.shape == (4, 8)
    np.testing.assert_allclose(decoded, vectors, atol=2e-3)
    np.testing.assert_array_equal(decoded, np.stack([vector_codec.decode(b) for b in blobs]))


@pytest.mark.parametrize(
    "blobs, message",
    [
        ([b"\x02" + b"\x00" * 4, b"\x01" + b"\x00" * 4], "unknown format tag"),
        ([vector_codec.encode(np.ones(4)), np.ones(3, np.float32).tobytes()], "different dimensions"),
    ],
)
def test_a_bad_batch_is_refused(blobs: list[bytes], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        vector_codec.decode_many(blobs)
