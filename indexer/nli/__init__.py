"""Natural-language inference: does a passage support, contradict or not decide a claim? (reranking stance)."""

from __future__ import annotations

from pathlib import Path

from indexer.nli.base import LABELS, NliModel

BUILTIN = "builtin:nli"

__all__ = ["BUILTIN", "LABELS", "NliModel", "load_nli"]


def load_nli(
    name: str,
    cache_dir: Path,
    backend: str = "auto",
    quant: str = "int8",
    weights_dir: Path | None = None,
    threads: int = 0,
    base_dir: Path | None = None,
) -> NliModel:
    """Load an NLI model by name.

    Args:
        name: ``builtin:nli`` (shipped with Babel Search, offline), a Hugging Face Hub id of an NLI
            cross-encoder, or a local directory holding one.
        cache_dir: where the built-in embedding model (the base of ``builtin:nli``) is built.
        backend: runtime of the built-in model: ``auto`` (ONNX Runtime where installed), ``onnx`` or ``torch``.
        quant: ONNX weights of the built-in model: ``int8`` or ``fp32``.
        weights_dir: the built-in model's weights folder (default: the shipped one).
        threads: ONNX Runtime threads; 0 = every core.
        base_dir: the built-in model's base BertModel directory (default: the offline e5 model in ``cache_dir``).

    Returns:
        The model; ``predict`` gives probabilities in :data:`LABELS` order.

    Raises:
        ModelUnavailableError: if the model cannot be loaded; the message names the alternatives.
    """
    if name == BUILTIN:
        from indexer.nli.shipped import WEIGHTS_DIR, read_config
        from indexer.onnx import ORT_AVAILABLE

        weights_dir = Path(weights_dir or WEIGHTS_DIR)
        # Weights with sentence features run only in torch; the others run in ONNX Runtime where it is installed.
        torch_only = not ORT_AVAILABLE or read_config(weights_dir).get("features")
        if backend == "torch" or (backend == "auto" and torch_only):
            from indexer.nli.builtin import load_builtin

            return load_builtin(Path(cache_dir), weights_dir, base_dir)
        from indexer.nli.onnx_nli import load_onnx_nli

        return load_onnx_nli(Path(cache_dir), weights_dir, base_dir, quant, threads)
    if name.startswith("builtin:"):
        from indexer.errors import ModelUnavailableError

        raise ModelUnavailableError(f"Unknown built-in NLI model {name!r}: the only one is {BUILTIN!r}.")
    from indexer.nli.hub import load_hub

    return load_hub(name)
