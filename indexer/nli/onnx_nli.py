"""The built-in NLI cross-encoder on ONNX Runtime: exported once per weights file, optionally int8-quantised.

The whole model (frozen e5 lower layers, fine-tuned top, head) becomes one graph ``input_ids, attention_mask ->
logits``, cached under ``<cache>/nli-onnx/<weights digest>/`` beside the built embedding model. It is the
same maths as :class:`indexer.nli.builtin.CrossEncoderNli` (checked on a padded batch at export), run by the
shared session factory and quantiser of :mod:`indexer.onnx`.
"""

from __future__ import annotations

import copy
import hashlib
import logging
import os
import uuid
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from indexer.errors import ModelUnavailableError
from indexer.nli.base import LABELS, NliModel, check_pairs, length_batches
from indexer.nli.builtin import CrossEncoderNli
from indexer.nli.calibrate import softmax
from indexer.nli.model import LAYER_PARAMS, pad_batch

logger = logging.getLogger(__name__)

#: Largest |logit| difference between the exported graph and torch that is accepted.
MAX_EXPORT_DIFF = 1e-3
QUANTS = ("int8", "fp32")


class _Graph(nn.Module):
    """``input_ids, attention_mask -> logits`` of a :class:`CrossEncoderNli` without sentence features.

    The fine-tuned top layers go back into one transformers BertModel after the frozen lower ones, with
    eager attention: the traced graph is then plain BERT, which ONNX Runtime fuses into its own operators.
    """

    def __init__(self, model: CrossEncoderNli):
        from transformers.models.bert.modeling_bert import BertLayer

        super().__init__()
        encoder = copy.deepcopy(model.lower)
        encoder.set_attn_implementation("eager")
        first = len(encoder.encoder.layer)
        for i, layer in enumerate(model.top.layers):
            bert = BertLayer(encoder.config, layer_idx=first + i)
            for short, path in LAYER_PARAMS.items():
                bert.get_submodule(path).load_state_dict(getattr(layer, short).state_dict())
            encoder.encoder.layer.append(bert)
        encoder.config.num_hidden_layers = len(encoder.encoder.layer)
        self.encoder, self.top = encoder.eval(), model.top

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        states = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        return self.top.classify(states, attention_mask.bool())


def export_nli(model: CrossEncoderNli, dst: Path) -> float:
    """Export the cross-encoder to ONNX (atomically), checked against torch on a padded batch.

    Args:
        model: the torch model (without sentence features).
        dst: the ``.onnx`` file.

    Returns:
        The largest |logit| difference from torch.

    Raises:
        ModelUnavailableError: if the model uses sentence features or the export disagrees with torch.
    """
    from indexer.onnx import fuse_checked, make_session

    if model.sentence_layers is not None:
        raise ModelUnavailableError("NLI weights with sentence features have no ONNX export; use nli_backend=torch")
    graph = _Graph(model).eval()
    ids = torch.randint(5, 1000, (2, 14))
    mask = torch.ones_like(ids)
    mask[1, 9:] = 0
    with torch.no_grad():
        reference = graph(ids, mask).numpy()
    dst.parent.mkdir(parents=True, exist_ok=True)
    temp = dst.with_name(f".{dst.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    axes = {"input_ids": {0: "batch", 1: "sequence"}, "attention_mask": {0: "batch", 1: "sequence"}}
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(graph, (ids, mask), str(temp), input_names=["input_ids", "attention_mask"],
                              output_names=["logits"], dynamic_axes=axes | {"logits": {0: "batch"}},
                              opset_version=17, dynamo=False, do_constant_folding=True)  # fmt: skip
        feed = {"input_ids": ids.numpy(), "attention_mask": mask.numpy()}

        def diff_of(path: Path) -> float:
            return float(np.abs(make_session(path, threads=1).run(["logits"], feed)[0] - reference).max())

        cfg = graph.encoder.config
        diff = fuse_checked(temp, cfg.num_attention_heads, cfg.hidden_size, diff_of, MAX_EXPORT_DIFF)[1]
        if diff > MAX_EXPORT_DIFF:
            raise ModelUnavailableError(f"ONNX export of the NLI model differs from torch by {diff:.1e}")
        os.replace(temp, dst)
    finally:
        temp.unlink(missing_ok=True)
    return diff


def ensure_nli_onnx(model: CrossEncoderNli, weights_file: Path, cache_dir: Path, quant: str = "int8") -> Path:
    """The ONNX file of these weights, exported (and quantised) into the cache on first use.

    Args:
        model: the loaded torch model of ``weights_file``.
        weights_file: the ``nli.safetensors`` the model came from (its digest names the cache folder).
        cache_dir: the model cache (``~/.cache/babelsearch``).
        quant: ``"int8"`` or ``"fp32"``.

    Returns:
        The ``.onnx`` path.
    """
    from indexer.onnx import GRAPH_VERSION, int8_scheme_for_cpu, quantize_int8

    if quant not in QUANTS:
        raise ValueError(f"unknown NLI quantisation {quant!r}; choose one of {', '.join(QUANTS)}")
    digest = hashlib.sha256(Path(weights_file).read_bytes()).hexdigest()[:16]
    folder = Path(cache_dir) / "nli-onnx" / f"{digest}-graph{GRAPH_VERSION}"
    fp32 = folder / "nli.onnx"
    if not fp32.is_file():
        logger.info("Exporting the NLI model to ONNX (one time)")
        export_nli(model, fp32)
    if quant == "fp32":
        return fp32
    scheme = int8_scheme_for_cpu()
    target = folder / f"nli.int8-{scheme}.onnx"
    if not target.is_file():
        quantize_int8(fp32, target, scheme)
    return target


class OnnxCrossEncoderNli(NliModel):
    """The built-in cross-encoder run by ONNX Runtime; same tokenisation, batching and calibration as torch."""

    def __init__(self, model: CrossEncoderNli, path: Path, quant: str, threads: int = 0):
        from indexer.onnx import make_session

        self.tokenizer, self.max_length = model.tokenizer, model.max_length
        self.temperature, self.badge_threshold = model.temperature, model.badge_threshold
        self.name, self.path, self.quant = model.name, path, quant
        self.session = make_session(path, threads)

    def predict(self, premises: list[str], hypotheses: list[str], batch_size: int = 16) -> np.ndarray:
        check_pairs(premises, hypotheses)
        out = np.zeros((len(premises), len(LABELS)), dtype=np.float32)
        if not premises:
            return out
        ids = self.tokenizer(list(premises), list(hypotheses), truncation="longest_first", max_length=self.max_length)[
            "input_ids"
        ]
        for index in length_batches([len(t) for t in ids], batch_size * 512, batch_size):
            batch, mask = pad_batch([ids[i] for i in index], self.tokenizer.pad_token_id)
            feed = {"input_ids": batch.numpy(), "attention_mask": mask.numpy().astype(np.int64)}
            logits = self.session.run(["logits"], feed)[0]
            out[index] = softmax(logits, self.temperature)
        return out
