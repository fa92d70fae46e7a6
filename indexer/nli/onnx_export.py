"""Export of the built-in NLI cross-encoder to ONNX: the torch half of :mod:`indexer.nli.onnx_nli`, run once.

The whole model (frozen e5 lower layers, fine-tuned top, head) becomes one graph ``input_ids, attention_mask ->
logits``: the same maths as :class:`indexer.nli.builtin.CrossEncoderNli`, checked on a padded batch.
"""

from __future__ import annotations

import copy
import os
import uuid
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from indexer.errors import ModelUnavailableError
from indexer.nli.builtin import CrossEncoderNli
from indexer.nli.model import LAYER_PARAMS

#: Largest |logit| difference between the exported graph and torch that is accepted.
MAX_EXPORT_DIFF = 1e-3


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
        ModelUnavailableError: if the export disagrees with torch.
    """
    from indexer.onnx import fuse_checked, make_session

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
