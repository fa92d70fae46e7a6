"""Natural-language inference: does a passage support, contradict or not decide a claim? (reranking stance)."""

from __future__ import annotations

from pathlib import Path

from indexer.nli.base import LABELS, NliModel

BUILTIN = "builtin:nli"

__all__ = ["BUILTIN", "LABELS", "NliModel", "load_nli"]


def load_nli(name: str, cache_dir: Path) -> NliModel:
    """Load an NLI model by name.

    Args:
        name: ``builtin:nli`` (shipped with Babel Search, offline), a Hugging Face Hub id of an NLI
            cross-encoder, or a local directory holding one.
        cache_dir: where the built-in embedding model (the base of ``builtin:nli``) is built.

    Returns:
        The model; ``predict`` gives probabilities in :data:`LABELS` order.

    Raises:
        ModelUnavailableError: if the model cannot be loaded; the message names the alternatives.
    """
    if name == BUILTIN:
        from indexer.nli.builtin import load_builtin

        return load_builtin(Path(cache_dir))
    if name.startswith("builtin:"):
        from indexer.errors import ModelUnavailableError

        raise ModelUnavailableError(f"Unknown built-in NLI model {name!r}: the only one is {BUILTIN!r}.")
    from indexer.nli.hub import load_hub

    return load_hub(name)
