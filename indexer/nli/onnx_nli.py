"""The built-in NLI cross-encoder on ONNX Runtime: exported once per weights file, optionally int8-quantised.

The graph and the tokenizer it needs are cached under ``<cache>/nli-onnx/<weights digest>-graph<N>/`` beside the
built embedding model; once there, loading and predicting need only numpy, onnxruntime and tokenizers (torch
and transformers are imported only to export them, see :mod:`indexer.nli.onnx_export`). Lengths and calibration
are read from the weights' config at every load, so a recalibration of the same weights is never served stale.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import numpy as np

from indexer.errors import ModelUnavailableError
from indexer.nli.base import LABELS, NliModel, check_pairs, length_batches
from indexer.nli.calibrate import softmax
from indexer.nli.shipped import PREDICT_MAX_LENGTH, WEIGHTS_FILE, predict_options, read_config
from indexer.onnx.tokenizer import PairTokenizer, pad_rows

logger = logging.getLogger(__name__)

QUANTS = ("int8", "fp32")


def nli_onnx_dir(weights_file: Path, cache_dir: Path) -> Path:
    """The cache folder of these weights' ONNX files: new weights or a new graph version get a new one.

    Args:
        weights_file: the ``nli.safetensors`` (its digest names the folder).
        cache_dir: the model cache (``~/.cache/babelsearch``).

    Returns:
        ``<cache_dir>/nli-onnx/<weights digest>-graph<N>``.
    """
    from indexer.onnx import GRAPH_VERSION

    digest = hashlib.sha256(Path(weights_file).read_bytes()).hexdigest()[:16]
    return Path(cache_dir) / "nli-onnx" / f"{digest}-graph{GRAPH_VERSION}"


def ensure_nli_onnx(cache_dir: Path, weights_dir: Path, base_dir: Path, quant: str = "int8") -> Path:
    """The ONNX file of these weights, exported (and quantised) into the cache on first use.

    Args:
        cache_dir: the model cache (``~/.cache/babelsearch``).
        weights_dir: folder with ``nli.safetensors`` and ``config.json``.
        base_dir: the base BertModel directory (loaded, with torch, only to export).
        quant: ``"int8"`` or ``"fp32"``.

    Returns:
        The ``.onnx`` path.

    Raises:
        ValueError: if ``quant`` is not one of :data:`QUANTS`.
    """
    from indexer.onnx import int8_scheme_for_cpu, quantize_int8

    if quant not in QUANTS:
        raise ValueError(f"unknown NLI quantisation {quant!r}; choose one of {', '.join(QUANTS)}")
    folder = nli_onnx_dir(Path(weights_dir) / WEIGHTS_FILE, cache_dir)
    fp32, scheme = folder / "nli.onnx", int8_scheme_for_cpu()
    # The int8 graph keeps its weights in a file beside it, which ONNX Runtime maps (see ``quantize_int8``).
    target = fp32 if quant == "fp32" else folder / f"nli.int8-{scheme}.mapped.onnx"
    if target.is_file():
        return target
    if not fp32.is_file():
        from indexer.nli.builtin import load_builtin
        from indexer.nli.onnx_export import export_nli

        logger.info("Exporting the NLI model to ONNX (one time)")
        export_nli(load_builtin(cache_dir, weights_dir, base_dir), fp32)
    if target != fp32:
        quantize_int8(fp32, target, scheme, external_data=True)
    return target


def load_onnx_nli(
    cache_dir: Path, weights_dir: Path, base_dir: Path | None = None, quant: str = "int8", threads: int = 0
) -> OnnxCrossEncoderNli:
    """The shipped model on ONNX Runtime, without torch or transformers once its files are cached.

    Args:
        cache_dir: the model cache (``~/.cache/babelsearch``).
        weights_dir: folder with ``nli.safetensors`` and ``config.json``.
        base_dir: the base BertModel directory (default: the offline e5 model in ``cache_dir``).
        quant: ``"int8"`` or ``"fp32"``.
        threads: ONNX Runtime threads; 0 = every core.

    Returns:
        The model.

    Raises:
        ModelUnavailableError: if the weights use sentence features, which have no ONNX export.
    """
    from indexer.model_build import ensure_default_model

    config = read_config(weights_dir)
    if config.get("features"):
        raise ModelUnavailableError("NLI weights with sentence features have no ONNX export; use nli_backend=torch")
    base_dir = Path(base_dir) if base_dir else ensure_default_model(Path(cache_dir))
    path = ensure_nli_onnx(Path(cache_dir), Path(weights_dir), base_dir, quant)
    return OnnxCrossEncoderNli(path, base_dir, quant, threads, **predict_options(config))


class OnnxCrossEncoderNli(NliModel):
    """The built-in cross-encoder run by ONNX Runtime; same tokenisation, batching and calibration as torch.

    Args:
        path: the ``.onnx`` file; the saved tokenizer lives beside it.
        base_dir: the base model folder, read only when the tokenizer is not saved yet.
        quant: ``"int8"`` or ``"fp32"`` (for display).
        threads: ONNX Runtime threads; 0 = every core.
        max_length: most tokens per pair.
        temperature: the calibrated softmax temperature.
        badge_threshold: least top probability at which a stance is shown.
    """

    name = "builtin:nli"

    def __init__(
        self,
        path: Path,
        base_dir: Path,
        quant: str,
        threads: int = 0,
        max_length: int = PREDICT_MAX_LENGTH,
        temperature: float = 1.0,
        badge_threshold: float = NliModel.badge_threshold,
    ):
        from indexer.onnx import make_session

        self.tokenizer = PairTokenizer(base_dir, path.parent, max_length)
        self.max_length, self.temperature, self.badge_threshold = max_length, temperature, badge_threshold
        self.path, self.quant = path, quant
        self.session = make_session(path, threads)

    def predict(self, premises: list[str], hypotheses: list[str], batch_size: int = 16) -> np.ndarray:
        check_pairs(premises, hypotheses)
        out = np.zeros((len(premises), len(LABELS)), dtype=np.float32)
        if not premises:
            return out
        ids = self.tokenizer.pairs(list(premises), list(hypotheses))
        # Similar lengths share a batch, as in torch: less padding, and masking keeps each result batch-independent.
        for index in length_batches([len(t) for t in ids], batch_size * 512, batch_size):
            input_ids, mask = pad_rows([ids[i] for i in index], self.tokenizer.pad_id)
            logits = self.session.run(["logits"], {"input_ids": input_ids, "attention_mask": mask})[0]
            out[index] = softmax(logits, self.temperature)
        return out
