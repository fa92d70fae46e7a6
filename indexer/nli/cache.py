"""Run the frozen lower layers once per pair and keep their outputs, packed in float16, for training the top."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from indexer.nli.base import length_batches
from indexer.nli.model import pad_batch

logger = logging.getLogger(__name__)


@dataclass
class PackedStates:
    """Variable-length hidden states of many sequences in one flat float16 tensor."""

    states: torch.Tensor
    offsets: np.ndarray

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @property
    def lengths(self) -> np.ndarray:
        """Tokens of each sequence."""
        return np.diff(self.offsets)

    def batch(self, index: np.ndarray, device: str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
        """Gather some sequences into a padded float32 batch.

        Args:
            index: which sequences.
            device: torch device of the result.

        Returns:
            (states [b, L, hidden], mask [b, L] bool).
        """
        lengths = self.lengths[index]
        x = torch.zeros((len(index), int(lengths.max()), self.states.shape[1]), dtype=torch.float32)
        mask = torch.zeros(x.shape[:2], dtype=torch.bool)
        for row, (i, n) in enumerate(zip(index.tolist(), lengths.tolist(), strict=True)):
            x[row, :n] = self.states[self.offsets[i] : self.offsets[i] + n].float()
            mask[row, :n] = True
        return x.to(device), mask.to(device)


@torch.inference_mode()
def encode_lower(
    lower: nn.Module, token_lists: list[list[int]], pad_id: int, max_tokens: int = 4096, device: str = "cpu"
) -> PackedStates:
    """Run the lower layers on every sequence (length-sorted batches) and pack the outputs.

    Args:
        lower: the frozen lower BertModel.
        token_lists: token ids of each sequence.
        pad_id: the tokenizer's pad id.
        max_tokens: padded tokens per forward pass.
        device: torch device to compute on.

    Returns:
        The packed float16 states, in the order of ``token_lists``.
    """
    lengths = [len(t) for t in token_lists]
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    states = torch.empty((int(offsets[-1]), lower.config.hidden_size), dtype=torch.float16)
    started, done = time.perf_counter(), 0
    batches = length_batches(lengths, max_tokens, 256)
    for step, index in enumerate(batches):
        ids, mask = pad_batch([token_lists[i] for i in index], pad_id)
        out = lower(input_ids=ids.to(device), attention_mask=mask.to(device)).last_hidden_state.to("cpu", torch.half)
        for row, i in enumerate(index.tolist()):
            states[offsets[i] : offsets[i + 1]] = out[row, : lengths[i]]
        done += len(index)
        if step % 50 == 0 or step == len(batches) - 1:
            rate = done / max(time.perf_counter() - started, 1e-9)
            logger.info("lower layers: %d/%d sequences (%.0f/s)", done, len(token_lists), rate)
    return PackedStates(states, offsets)


class LazyStates:
    """Lower-layer states computed batch by batch when asked (the training set need not fit in memory).

    Offers what training needs of :class:`PackedStates`: ``lengths`` and ``batch``.
    """

    def __init__(self, lower: nn.Module, token_lists: list[list[int]], pad_id: int):
        self.lower, self.token_lists, self.pad_id = lower, token_lists, pad_id
        self.lengths = np.array([len(t) for t in token_lists])

    def __len__(self) -> int:
        return len(self.token_lists)

    @torch.no_grad()
    def batch(self, index: np.ndarray, device: str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
        """Run the frozen lower layers on some sequences.

        Args:
            index: which sequences.
            device: torch device of the result.

        Returns:
            (states [b, L, hidden] float32, mask [b, L] bool).
        """
        ids, mask = pad_batch([self.token_lists[i] for i in index.tolist()], self.pad_id)
        mask = mask.to(device)
        states = self.lower(input_ids=ids.to(device), attention_mask=mask).last_hidden_state
        return states.float(), mask
