"""Export a Hugging Face encoder to ONNX once, into the model cache beside its source, atomically."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import time
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from indexer.errors import ModelUnavailableError
from indexer.onnx.fuse import fuse_checked
from indexer.onnx.quantize import INT8_SCHEMES, QUANT_OPS, quantize_int8

logger = logging.getLogger(__name__)

OPSET = 17
INPUTS = ("input_ids", "attention_mask")
OUTPUT = "last_hidden_state"
#: Largest |torch - onnxruntime| allowed on the check batch before an export is published.
MAX_EXPORT_DIFF = 1e-3
_SOURCE_FILES = ("config.json", "model.safetensors", "pytorch_model.bin")
#: Bumped whenever the exported graph changes (2: eager attention, fused into ONNX Runtime operators; 3: only
#: GELU fused), so a cache written by an older release is not mistaken for the
#: current graph.
GRAPH_VERSION = 3


@dataclass(frozen=True)
class OnnxModel:
    """An exported (and perhaps quantised) encoder ready for :func:`indexer.onnx.make_session`.

    Attributes:
        path: the ``.onnx`` file.
        quant: ``"fp32"`` or ``"int8"``.
        scheme: the int8 weight scheme (``""`` for fp32).
        sha256: digest of the file's bytes, computed when it was written.
        info: the sidecar facts (source, opset, export check, quantisation options).
    """

    path: Path
    quant: str
    scheme: str
    sha256: str
    info: dict[str, Any] = field(default_factory=dict)


def _source_signature(model_dir: Path) -> str:
    # Size and mtime of the weight and config files: cheap at every start, and any rebuild changes it.
    parts = []
    for name in _SOURCE_FILES:
        path = model_dir / name
        if path.is_file():
            st = path.stat()
            parts.append(f"{name}:{st.st_size}:{st.st_mtime_ns}")
    if not any(p.startswith(("model.safetensors", "pytorch_model.bin")) for p in parts):
        raise ModelUnavailableError(f"{model_dir}: no model.safetensors or pytorch_model.bin to export to ONNX")
    key = f"{model_dir.resolve()}|{'|'.join(parts)}|graph{GRAPH_VERSION}"
    return hashlib.sha256(key.encode()).hexdigest()[:10]


def onnx_dir(model_dir: Path, cache_dir: Path) -> Path:
    """Where the ONNX files of ``model_dir`` live: beside it, as ``<model name>.onnx-<source signature>``.

    The built-in model is itself in the cache, so its ONNX files sit right beside it there. A model in a
    folder this process cannot write, or in the Hugging Face Hub's cache, is exported into ``cache_dir``.
    """
    model_dir = Path(model_dir)
    name = f"{model_dir.name}.onnx-{_source_signature(model_dir)}"
    parent = model_dir.resolve().parent
    if os.access(parent, os.W_OK) and "snapshots" not in parent.parts:
        return parent / name
    return Path(cache_dir).expanduser() / name


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(8 << 20):
            digest.update(block)
    return digest.hexdigest()


def _wrap(model: Any) -> Any:
    """``input_ids, attention_mask -> last_hidden_state`` around a transformers model, as a torch Module."""
    import torch

    class Encoder(torch.nn.Module):
        def __init__(self, inner: Any):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids: Any, attention_mask: Any) -> Any:
            # Keywords, not positions: transformers' forward signatures move between versions.
            return self.inner(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    return Encoder(model)


def export_encoder(model_dir: Path | str, dst: Path | str, opset: int = OPSET) -> dict[str, Any]:
    """Export a Hugging Face encoder directory to ONNX with dynamic batch and sequence axes.

    The file is written to a temp name beside ``dst``, checked against torch on a padded batch and
    renamed into place only if the outputs agree.

    Args:
        model_dir: a directory ``transformers.AutoModel`` can load (config.json + weights).
        dst: the ``.onnx`` file to write.
        opset: ONNX opset (17 or later: LayerNormalization is one fused operator).

    Returns:
        Facts about the export: opset, versions, seconds and the largest difference from torch.

    Raises:
        ModelUnavailableError: if the model cannot be loaded or the export disagrees with torch.
    """
    import torch
    from transformers import AutoModel

    started = time.perf_counter()
    try:
        # Eager attention traces to the matmul/softmax pattern that ONNX Runtime fuses into one operator.
        model = AutoModel.from_pretrained(str(model_dir), attn_implementation="eager").eval()
    except Exception as e:  # transformers raises OSError, ValueError, KeyError...
        raise ModelUnavailableError(f"cannot load {model_dir} for ONNX export: {e.__class__.__name__}: {e}") from e
    encoder = _wrap(model)
    # A padded batch: the check covers the attention mask, not just full rows.
    ids = torch.randint(5, min(1000, model.config.vocab_size), (2, 12))
    mask = torch.ones_like(ids)
    mask[1, 7:] = 0
    with torch.no_grad():
        # The reference comes first: tracing may leave the module in another state.
        reference = encoder(ids, mask).numpy()
    dst = Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    temp = dst.with_name(f".{dst.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    axes = {name: {0: "batch", 1: "sequence"} for name in (*INPUTS, OUTPUT)}
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the tracer's chatter about Python control flow
            torch.onnx.export(
                encoder,
                (ids, mask),
                str(temp),
                input_names=list(INPUTS),
                output_names=[OUTPUT],
                dynamic_axes=axes,
                opset_version=opset,
                dynamo=False,
                do_constant_folding=True,
            )
        cfg = model.config
        fused, diff = fuse_checked(
            temp,
            getattr(cfg, "num_attention_heads", 0),
            getattr(cfg, "hidden_size", 0),
            lambda path: _check_export(path, ids.numpy(), mask.numpy(), reference),
            MAX_EXPORT_DIFF,
        )
        if diff > MAX_EXPORT_DIFF:
            raise ModelUnavailableError(
                f"ONNX export of {model_dir} differs from torch by {diff:.2e} "
                f"(> {MAX_EXPORT_DIFF}); use BABELSEARCH_EMBED_BACKEND=torch"
            )
        os.replace(temp, dst)
    finally:
        temp.unlink(missing_ok=True)
    seconds = round(time.perf_counter() - started, 1)
    logger.info("Exported %s to %s in %.1f s (max |diff| vs torch %.1e)", model_dir, dst, seconds, diff)
    return {
        "opset": opset,
        "torch": torch.__version__,
        "export_s": seconds,
        "max_abs_diff_vs_torch": diff,
        "fused": fused,
        "source": str(Path(model_dir).resolve()),
    }


def _check_export(path: Path, ids: np.ndarray, mask: np.ndarray, reference: np.ndarray) -> float:
    from indexer.onnx.session import make_session

    out = make_session(path, threads=1).run([OUTPUT], {"input_ids": ids, "attention_mask": mask})[0]
    # Padded positions are ignored by pooling, so only real tokens count.
    keep = mask.astype(bool)
    return float(np.abs(out[keep] - reference[keep]).max())


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    # One exporter at a time per folder; a second process waits, then finds the files done.
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / ".lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _read_sidecar(path: Path) -> dict[str, Any] | None:
    # The sidecar is written after its model file, so a sidecar means the model file is complete.
    sidecar = path.with_name(path.name + ".json")
    if not (path.is_file() and sidecar.is_file()):
        return None
    try:
        return json.loads(sidecar.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None


def _write_sidecar(path: Path, info: dict[str, Any]) -> dict[str, Any]:
    info = {**info, "sha256": _sha256(path), "created_at": time.time()}
    sidecar = path.with_name(path.name + ".json")
    temp = sidecar.with_name(f".{sidecar.name}.tmp-{os.getpid()}")
    temp.write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    os.replace(temp, sidecar)
    return info


def ensure_onnx_model(
    model_dir: Path | str, cache_dir: Path | str, quant: str = "int8", scheme: str | None = None
) -> OnnxModel:
    """Return the ONNX model of ``model_dir``, exporting (fp32) and quantising (int8) it on first use.

    Args:
        model_dir: the encoder's Hugging Face directory (a sentence-transformers model's Transformer folder).
        cache_dir: the model cache (see :func:`onnx_dir`).
        quant: ``"fp32"`` or ``"int8"``.
        scheme: int8 weight scheme (default: :func:`indexer.onnx.int8_scheme_for_cpu`).

    Returns:
        The model file, its digest and facts.

    Raises:
        ValueError: for an unknown ``quant`` or ``scheme``.
        ModelUnavailableError: if the export fails.
    """
    from indexer.onnx.cpu import cpu_int8_flags, int8_scheme_for_cpu

    if quant not in ("fp32", "int8"):
        raise ValueError(f"unknown quantisation {quant!r}; choose 'int8' or 'fp32'")
    flags = cpu_int8_flags()
    scheme = (scheme or int8_scheme_for_cpu(flags)) if quant == "int8" else ""
    if scheme and scheme not in INT8_SCHEMES:
        raise ValueError(f"unknown int8 scheme {scheme!r}; choose one of {', '.join(INT8_SCHEMES)}")
    folder = onnx_dir(Path(model_dir), Path(cache_dir))
    fp32 = folder / "model.onnx"
    target = fp32 if quant == "fp32" else folder / f"model.int8-{scheme}.onnx"
    info = _read_sidecar(target)
    if info is None:
        with _locked(folder):
            info = _read_sidecar(target) or _create(model_dir, fp32, target, scheme, flags)
    return OnnxModel(target, quant, scheme, info["sha256"], info)


def _create(model_dir: Path | str, fp32: Path, target: Path, scheme: str, flags: dict[str, bool]) -> dict[str, Any]:
    fp32_info = _read_sidecar(fp32)
    if fp32_info is None:
        logger.info("Exporting %s to ONNX (one time, about half a minute)", model_dir)
        fp32_info = _write_sidecar(fp32, export_encoder(model_dir, fp32))
    if target == fp32:
        return fp32_info
    quantize_int8(fp32, target, scheme)
    return _write_sidecar(
        target,
        {
            "from_sha256": fp32_info["sha256"],
            "scheme": scheme,
            "per_channel": True,
            "ops": list(QUANT_OPS),
            "cpu_flags": flags,
            **INT8_SCHEMES[scheme],
        },
    )
