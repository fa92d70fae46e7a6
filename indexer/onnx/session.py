"""ONNX Runtime sessions on the CPU with explicit thread settings."""

from __future__ import annotations

import importlib.util
import logging
import os
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

#: Whether onnxruntime can be imported (checked without importing it).
ORT_AVAILABLE = importlib.util.find_spec("onnxruntime") is not None


def usable_cores() -> int:
    """The number of CPU cores this process may run on (its affinity mask, not the machine's total)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def make_session(path: Path | str, threads: int = 0) -> Any:
    """Open an ONNX model for CPU inference.

    Args:
        path: the ``.onnx`` file.
        threads: intra-op threads; 0 means every core this process may use.

    Returns:
        An ``onnxruntime.InferenceSession`` on the CPU execution provider.

    Raises:
        ImportError: if onnxruntime is not installed.
        ValueError: if ``threads`` is negative.
    """
    if not ORT_AVAILABLE:
        raise ImportError("onnxruntime is not available - install onnxruntime")
    if threads < 0:
        raise ValueError(f"threads must be 0 (all cores) or a positive count, not {threads}")
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or usable_cores()
    # One request at a time: parallelism lives inside each operator, not across the graph.
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    session = ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])
    logger.debug("ONNX session on %s with %d thread(s)", path, options.intra_op_num_threads)
    return session
