"""NLI cross-encoders from the Hugging Face Hub (or a local directory), with their label order read from the config."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch

from indexer.errors import ModelUnavailableError
from indexer.nli.base import LABELS, NliModel, check_pairs

logger = logging.getLogger(__name__)

# Case-insensitive label-name prefixes of our labels (models say ENTAILMENT, entailment, CONTRADICTION...).
_PREFIXES = {"entailment": "entail", "neutral": "neutral", "contradiction": "contradict"}


def label_order(id2label: dict[int, str]) -> list[int]:
    """Find which logit column holds each of our labels.

    Args:
        id2label: the model config's ``id2label`` (column index -> label name).

    Returns:
        Column indices of entailment, neutral and contradiction, in :data:`LABELS` order.

    Raises:
        ModelUnavailableError: if a label is missing or matched twice (not a 3-way NLI model).
    """
    order = []
    for label in LABELS:
        columns = [int(i) for i, name in id2label.items() if str(name).strip().lower().startswith(_PREFIXES[label])]
        if len(columns) != 1:
            found = ", ".join(f"{i}={name}" for i, name in sorted(id2label.items()))
            raise ModelUnavailableError(
                f"Not a 3-way NLI model: its labels are {{{found}}}, but entailment, neutral and contradiction "
                "are each needed once. Choose an NLI cross-encoder such as "
                "MoritzLaurer/multilingual-MiniLMv2-L6-mnli-xnli, or 'builtin:nli'."
            )
        order.append(columns[0])
    return order


class HubNli(NliModel):
    """A transformers sequence-classification NLI model."""

    def __init__(self, name: str, model: torch.nn.Module, tokenizer, max_length: int = 512):
        self.name, self.model, self.tokenizer, self.max_length = name, model.eval(), tokenizer, max_length
        self.order = label_order(model.config.id2label)

    @torch.inference_mode()
    def predict(self, premises: list[str], hypotheses: list[str], batch_size: int = 16) -> np.ndarray:
        check_pairs(premises, hypotheses)
        out = np.zeros((len(premises), len(LABELS)), dtype=np.float32)
        for start in range(0, len(premises), batch_size):
            enc = self.tokenizer(
                list(premises[start : start + batch_size]),
                list(hypotheses[start : start + batch_size]),
                padding=True,
                truncation=True,
                max_length=self.max_length,
                return_tensors="pt",
            )
            logits = self.model(**enc).logits.float()
            # Reorder the model's columns into entailment, neutral, contradiction.
            out[start : start + len(logits)] = torch.softmax(logits, dim=-1)[:, self.order].numpy()
        return out


def load_hub(name: str) -> HubNli:
    """Load an NLI cross-encoder by Hub id or local directory.

    Args:
        name: e.g. ``MoritzLaurer/multilingual-MiniLMv2-L6-mnli-xnli`` or a folder saved with ``save_pretrained``.

    Returns:
        The model.

    Raises:
        ModelUnavailableError: if it cannot be loaded (offline, unknown id) or is not a 3-way NLI model.
    """
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(name)
        model = AutoModelForSequenceClassification.from_pretrained(name)
    except (OSError, ValueError) as e:
        where = "the local directory" if Path(name).exists() else "the Hugging Face Hub (needs internet once)"
        raise ModelUnavailableError(
            f"Cannot load the NLI model {name!r} from {where}: {e}. Use 'builtin:nli' (shipped, offline), a local "
            "directory saved with save_pretrained, or a Hub id such as "
            "MoritzLaurer/multilingual-MiniLMv2-L6-mnli-xnli."
        ) from e
    return HubNli(name, model, tokenizer, min(512, getattr(tokenizer, "model_max_length", 512) or 512))
