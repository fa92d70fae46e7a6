"""int8 quantisation of an exported encoder with onnxruntime.quantization, written atomically."""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Sequence
from pathlib import Path

logger = logging.getLogger(__name__)

#: Weight schemes for dynamic quantisation (activations are always u8, scaled per batch at run time).
#: "s8": full-range signed 8-bit weights; "s8-reduce-range": 7-bit weights, which cannot saturate the
#: 16-bit accumulator of AVX2's u8 x s8 kernel; "u8": unsigned weights (ONNX Runtime's u8 x u8 kernel).
INT8_SCHEMES: dict[str, dict[str, bool | str]] = {
    "s8": {"weight_type": "QInt8", "reduce_range": False},
    "s8-reduce-range": {"weight_type": "QInt8", "reduce_range": True},
    "u8": {"weight_type": "QUInt8", "reduce_range": False},
}


#: Operators quantised by default: weight products (a fused ``Attention``, where a graph has one, too).
QUANT_OPS = ("MatMul", "Attention")


def quantize_int8(
    src: Path | str,
    dst: Path | str,
    scheme: str = "s8-reduce-range",
    per_channel: bool = True,
    ops: Sequence[str] = QUANT_OPS,
    external_data: bool = False,
) -> Path:
    """Quantise an fp32 ONNX model to int8 weights (dynamic quantisation).

    Only matrix products with a constant weight operand are quantised (``MatMulConstBOnly``), and a fused
    ``Attention`` becomes ``QAttention``: the attention products of two activations stay fp32, as do
    LayerNorm, Softmax and GELU.

    Args:
        src: the fp32 ``.onnx`` file.
        dst: where to write the int8 model; written to a temp file beside it, then renamed.
        scheme: a key of :data:`INT8_SCHEMES`.
        per_channel: one scale per output column instead of one per tensor.
        ops: operator types to quantise (``"Gather"`` would also shrink the embedding table).
        external_data: keep the weights in ``<dst>.data`` beside the graph: ONNX Runtime maps that file instead
            of parsing a copy of every weight, so a session opens faster and without a transient second copy.

    Returns:
        ``dst``.

    Raises:
        ValueError: for an unknown scheme.
        ImportError: if onnxruntime is not installed.
    """
    if scheme not in INT8_SCHEMES:
        raise ValueError(f"unknown int8 scheme {scheme!r}; choose one of {', '.join(INT8_SCHEMES)}")
    try:
        import onnx
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError as e:
        raise ImportError("onnxruntime is not available - install onnxruntime (and onnx)") from e
    settings = INT8_SCHEMES[scheme]
    dst = Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    temp = dst.with_name(f".{dst.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    try:
        quantize_dynamic(
            Path(src),
            temp,
            op_types_to_quantize=list(ops),
            per_channel=per_channel,
            reduce_range=bool(settings["reduce_range"]),
            weight_type=getattr(QuantType, str(settings["weight_type"])),
            # Fused operators (ONNX Runtime's own domain) have no inferred output type: they are float.
            extra_options={"MatMulConstBOnly": True, "DefaultTensorType": onnx.TensorProto.FLOAT},
        )
        if external_data:
            # The weights first, under their final name beside the graph, then the graph that points to them.
            data = dst.with_name(dst.name + ".data")
            data.unlink(missing_ok=True)
            onnx.save_model(onnx.load(temp), temp, save_as_external_data=True, all_tensors_to_one_file=True,
                            location=data.name, size_threshold=1024)
        # Readers only ever see a complete file: rename is atomic within a directory.
        os.replace(temp, dst)
    finally:
        temp.unlink(missing_ok=True)
    logger.info("Quantised %s -> %s (%s, per_channel=%s, ops=%s)", src, dst, scheme, per_channel, list(ops))
    return dst
