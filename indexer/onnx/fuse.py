"""Fuse a BERT-shaped ONNX graph into ONNX Runtime's own operators where that is faster on the CPU.

Only the GELU sub-graphs are fused. The fused ``Attention``, ``SkipLayerNormalization``
and ``BiasGelu`` operators were measured slower on the CPU than the plain operators they replace (DESIGN.md,
section 4): with attention left as matrix products, every weight product is one int8 ``MatMul`` after
quantisation. Callers check the result against torch before they publish it (the fusion rewrites by pattern and
must not be trusted blindly).
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable
from pathlib import Path

logger = logging.getLogger(__name__)

#: FusionOptions switches turned off: the fused kernels they produce ran slower than the plain operators.
SLOWER_FUSIONS = ("enable_attention", "enable_skip_layer_norm", "enable_bias_skip_layer_norm", "enable_bias_gelu")


def fuse_bert(src: Path | str, dst: Path | str, num_heads: int, hidden_size: int) -> dict[str, int]:
    """Write ``src`` with its BERT sub-graphs fused into ONNX Runtime operators, atomically.

    Args:
        src: an fp32 ``.onnx`` file exported with eager (matmul + softmax) attention.
        dst: where to write the fused graph (a temp file beside it, then renamed).
        num_heads: attention heads per layer.
        hidden_size: width of the hidden states.

    Returns:
        ``{operator: count}`` of the fused operators that occur (empty when nothing matched).

    Raises:
        ImportError: if onnxruntime is not installed.
    """
    from onnxruntime.transformers.fusion_options import FusionOptions
    from onnxruntime.transformers.optimizer import optimize_model

    dst = Path(dst)
    temp = dst.with_name(f".{dst.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    try:
        # opt_level 1: ONNX Runtime's basic rewrites only, so the file stays portable across CPUs.
        options = FusionOptions("bert")
        for name in SLOWER_FUSIONS:
            setattr(options, name, False)
        model = optimize_model(str(src), model_type="bert", num_heads=num_heads, hidden_size=hidden_size,
                               opt_level=1, optimization_options=options)  # fmt: skip
        fused = {op: n for op, n in model.get_fused_operator_statistics().items() if n}
        model.save_model_to_file(str(temp))
        os.replace(temp, dst)
    finally:
        temp.unlink(missing_ok=True)
    logger.info("Fused %s -> %s: %s", src, dst, fused or "nothing matched")
    return fused


def fuse_checked(
    path: Path, num_heads: int, hidden_size: int, diff_of: Callable[[Path], float], max_diff: float
) -> tuple[dict[str, int], float]:
    """Replace ``path`` by its fused graph if that still agrees with torch; otherwise leave it as it is.

    Args:
        path: the exported fp32 graph (not yet published).
        num_heads: attention heads per layer.
        hidden_size: width of the hidden states.
        diff_of: the largest difference of a graph file's output from torch's on a padded check batch.
        max_diff: the largest difference accepted.

    Returns:
        (the fused operators (see :func:`fuse_bert`), or ``{}`` when the plain graph was kept;
        ``diff_of`` of the graph now at ``path``, for the caller's own check).
    """
    fused_path = path.with_name(path.name + ".fused")
    try:
        fused = fuse_bert(path, fused_path, num_heads, hidden_size)
        diff = diff_of(fused_path)
        if diff <= max_diff:
            os.replace(fused_path, path)
            return fused, diff
        logger.warning("Fused graph of %s differs from torch by %.1e: keeping the plain graph", path, diff)
    except Exception as e:  # the optimiser raises many kinds on graphs it does not know
        logger.warning("Cannot fuse %s (%s: %s): keeping the plain graph", path, e.__class__.__name__, e)
    finally:
        fused_path.unlink(missing_ok=True)
    return {}, diff_of(path)
