"""ONNX Runtime inference for BERT-style encoders: export, int8 quantisation, sessions, CPU checks.

Shared by the embedder and usable by any encoder with the same shape (e.g. the NLI cross-encoder).
Nothing here knows about pooling or prompts: callers feed ``input_ids`` and ``attention_mask`` and
read ``last_hidden_state`` (or whatever their own export names).

API:
    ``export_encoder(model_dir, dst, opset=17)``: a Hugging Face encoder directory (config.json +
        weights, e.g. a sentence-transformers model's root) to ONNX with dynamic batch and sequence
        axes, inputs ``input_ids``/``attention_mask``, output ``last_hidden_state``; written atomically.
    ``ensure_onnx_model(model_dir, cache_dir, quant)``: export once (fp32) and quantise once (int8)
        into the cache, next to the model; later calls only read. Returns an :class:`OnnxModel`.
    ``fuse_bert(src, dst, heads, hidden)``: the GELU sub-graphs fused into ONNX Runtime operators
        (its fused attention and residual LayerNorm are slower); ``fuse_checked`` keeps the fusion only when a
        check against torch passes, and returns that check's result (both exports use it).
    ``quantize_int8(src, dst, scheme)``: dynamic int8 quantisation of every weight product, per channel;
        ``scheme`` is one of :data:`INT8_SCHEMES`; written atomically.
    ``make_session(path, threads)``: an ``onnxruntime.InferenceSession`` on the CPU with
        ``intra_op_num_threads`` = ``threads`` (0: every core this process may use).
    ``cpu_int8_flags()``: the int8-relevant CPU features from /proc/cpuinfo; ``int8_scheme_for_cpu()``
        picks the scheme that does not saturate on this CPU (see :mod:`indexer.onnx.cpu`).
"""

from __future__ import annotations

from indexer.onnx.cpu import cpu_int8_flags, int8_scheme_for_cpu
from indexer.onnx.export import GRAPH_VERSION, OnnxModel, ensure_onnx_model, export_encoder
from indexer.onnx.fuse import fuse_bert, fuse_checked
from indexer.onnx.quantize import INT8_SCHEMES, quantize_int8
from indexer.onnx.session import ORT_AVAILABLE, make_session

__all__ = [
    "GRAPH_VERSION",
    "INT8_SCHEMES",
    "ORT_AVAILABLE",
    "OnnxModel",
    "cpu_int8_flags",
    "ensure_onnx_model",
    "export_encoder",
    "fuse_bert",
    "fuse_checked",
    "int8_scheme_for_cpu",
    "make_session",
    "quantize_int8",
]
