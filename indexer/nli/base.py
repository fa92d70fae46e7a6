"""The NLI model interface shared by the shipped cross-encoder and Hub models, and their batching."""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

#: The fixed label order of every probability array in Babel Search.
LABELS = ("entailment", "neutral", "contradiction")


class NliModel(ABC):
    """A natural-language-inference classifier: does the premise entail, contradict or not decide the hypothesis?"""

    #: Display name (``builtin:nli``, a Hub id or a directory).
    name: str = ""
    #: Column order of :meth:`predict`'s probabilities; always :data:`LABELS`.
    labels: tuple[str, ...] = LABELS
    #: Least top probability at which a stance is shown; below it the stance is "unclear". The built-in model's
    #: comes from its calibration on held-out ids; a Hub model's is this default (its probabilities are uncalibrated).
    badge_threshold: float = 0.7

    @abstractmethod
    def predict(self, premises: list[str], hypotheses: list[str], batch_size: int = 16) -> np.ndarray:
        """Score premise/hypothesis pairs.

        Batches are padded and masked, so a pair's probabilities do not depend on the batch it is in.

        Args:
            premises: the passages.
            hypotheses: the claims (queries), one per premise.
            batch_size: pairs per forward pass.

        Returns:
            float32 array of shape (n, 3): probabilities in :data:`LABELS` order
            (entailment, neutral, contradiction); each row sums to 1.

        Raises:
            ValueError: if the two lists differ in length.
        """


def check_pairs(premises: list[str], hypotheses: list[str]) -> None:
    """Validate predict()'s inputs.

    Args:
        premises: the passages.
        hypotheses: the claims.

    Raises:
        ValueError: if the lists differ in length.
    """
    if len(premises) != len(hypotheses):
        raise ValueError(f"premises and hypotheses must pair up: got {len(premises)} and {len(hypotheses)}")


def length_batches(lengths: list[int], max_tokens: int, max_batch: int) -> list[np.ndarray]:
    """Group indices of similar length into batches bounded by padded tokens (less padding, same results).

    Args:
        lengths: sequence lengths.
        max_tokens: most padded tokens per batch.
        max_batch: most sequences per batch.

    Returns:
        Index arrays, longest sequences first.
    """
    order = np.argsort(-np.asarray(lengths), kind="stable")
    batches, start = [], 0
    while start < len(order):
        longest = lengths[order[start]]
        size = max(1, min(max_batch, max_tokens // max(longest, 1)))
        batches.append(order[start : start + size])
        start += size
    return batches
