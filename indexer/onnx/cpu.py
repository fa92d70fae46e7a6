"""CPU features that decide which int8 kernels ONNX Runtime runs, read from /proc/cpuinfo."""

from __future__ import annotations

import logging
import platform
from pathlib import Path

logger = logging.getLogger(__name__)

#: /proc/cpuinfo flags that matter for int8 matrix products on x86-64.
INT8_FLAGS = ("avx2", "avx512f", "avx512bw", "avx512_vnni", "avx_vnni", "amx_int8")
#: The scheme for x86-64 CPUs, with or without VNNI, chosen by measurement (BENCHMARKS.md, section 3b).
X86_SCHEME = "s8-reduce-range"
#: Elsewhere (ARM's dot-product instructions accumulate in 32 bits): full 8-bit weights.
OTHER_SCHEME = "s8"


def cpu_int8_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> dict[str, bool]:
    """The int8-relevant CPU features of this machine.

    Args:
        cpuinfo: the file to read (Linux); elsewhere every flag is False.

    Returns:
        ``{flag: present}`` for each of :data:`INT8_FLAGS`, plus ``"vnni"`` (any VNNI or AMX int8
        instruction) and ``"x86_64"``.
    """
    flags: set[str] = set()
    try:
        for line in cpuinfo.read_text(encoding="utf-8", errors="replace").splitlines():
            # Every core repeats the same line; the first is enough.
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                break
    except OSError:
        logger.debug("cannot read %s; assuming no int8 extensions", cpuinfo)
    out = {name: name in flags for name in INT8_FLAGS}
    out["vnni"] = out["avx512_vnni"] or out["avx_vnni"] or out["amx_int8"]
    out["x86_64"] = platform.machine().lower() in ("x86_64", "amd64")
    return out


def int8_scheme_for_cpu(flags: dict[str, bool] | None = None) -> str:
    """Pick the int8 weight scheme that keeps the embeddings' quality on this CPU.

    Without VNNI, ONNX Runtime's x86 u8 x s8 kernel multiplies with VPMADDUBSW, which adds pairs of
    products into a 16-bit lane and can saturate with full-range 8-bit weights; 7-bit weights
    (``reduce_range``) cannot. With AVX-512 VNNI and AMX, measured, full-range weights were still less
    accurate (Tatoeba 1.1 points below fp32, against 0.3 with 7-bit weights) and no faster, so every
    x86-64 CPU gets 7-bit weights; other CPUs get full-range ones.

    Args:
        flags: from :func:`cpu_int8_flags` (read now when None).

    Returns:
        A key of :data:`indexer.onnx.quantize.INT8_SCHEMES`.
    """
    flags = cpu_int8_flags() if flags is None else flags
    return X86_SCHEME if flags.get("x86_64") else OTHER_SCHEME
