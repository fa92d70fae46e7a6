"""The cross-encoder: frozen lower layers of the e5 base model, fine-tuned top layers and a 3-way head."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from indexer.onnx.tokenizer import pad_rows

logger = logging.getLogger(__name__)

#: Prompt of the sentence embeddings joined to the head: e5's prompt for symmetric tasks.
FEATURE_PROMPT = "query: "
# Short name of each BertLayer sub-module -> its path in a BertModel state dict.
LAYER_PARAMS = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}


@dataclass(frozen=True)
class TopConfig:
    """Shape of the fine-tuned top: how many layers, their size, and how the head pools."""

    n_layers: int
    hidden: int = 384
    heads: int = 12
    intermediate: int = 1536
    eps: float = 1e-12
    pool: str = "mean"
    dropout: float = 0.1
    #: Size of optional sentence-embedding features ([u, v, |u-v|, u*v]) joined to the pooled state; 0 = none.
    features: int = 0


class EncoderLayer(nn.Module):
    """One post-LayerNorm BERT layer (the maths of transformers' BertLayer, with SDPA attention)."""

    def __init__(self, cfg: TopConfig):
        super().__init__()
        h, ff = cfg.hidden, cfg.intermediate
        self.heads, self.dropout = cfg.heads, cfg.dropout
        self.q, self.k, self.v, self.ao = (nn.Linear(h, h) for _ in range(4))
        self.fi, self.fo = nn.Linear(h, ff), nn.Linear(ff, h)
        self.aln, self.oln = nn.LayerNorm(h, eps=cfg.eps), nn.LayerNorm(h, eps=cfg.eps)

    def _split(self, x: torch.Tensor) -> torch.Tensor:
        b, n, h = x.shape
        return x.view(b, n, self.heads, h // self.heads).transpose(1, 2)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Run the layer.

        Args:
            x: hidden states [batch, tokens, hidden].
            mask: bool [batch, tokens], True on real tokens.

        Returns:
            New hidden states, same shape.
        """
        p = self.dropout if self.training else 0.0
        # Padding keys are masked out, so a pair's output is the same in any batch.
        attn = F.scaled_dot_product_attention(
            self._split(self.q(x)),
            self._split(self.k(x)),
            self._split(self.v(x)),
            attn_mask=mask[:, None, None, :],
            dropout_p=p,
        )
        attn = attn.transpose(1, 2).reshape(x.shape)
        x = self.aln(x + F.dropout(self.ao(attn), p, self.training))
        return self.oln(x + F.dropout(self.fo(F.gelu(self.fi(x))), p, self.training))


class TopLayers(nn.Module):
    """The shipped part of the model: the top N encoder layers and the entail/neutral/contradict head."""

    def __init__(self, cfg: TopConfig):
        super().__init__()
        if cfg.pool not in ("mean", "cls"):
            raise ValueError(f"pool must be 'mean' or 'cls', not {cfg.pool!r}")
        self.cfg = cfg
        self.layers = nn.ModuleList(EncoderLayer(cfg) for _ in range(cfg.n_layers))
        self.head_dense, self.head_out = nn.Linear(cfg.hidden + cfg.features, cfg.hidden), nn.Linear(cfg.hidden, 3)
        self.feat_norm = nn.LayerNorm(cfg.features) if cfg.features else None

    def forward(self, x: torch.Tensor, mask: torch.Tensor, feats: torch.Tensor | None = None) -> torch.Tensor:
        """Classify pairs from the lower layers' hidden states.

        Args:
            x: lower-layer hidden states [batch, tokens, hidden].
            mask: bool [batch, tokens], True on real tokens.
            feats: sentence-embedding features [batch, features] when the config has them.

        Returns:
            Logits [batch, 3] in LABELS order.
        """
        for layer in self.layers:
            x = layer(x, mask)
        return self.classify(x, mask, feats)

    def classify(self, x: torch.Tensor, mask: torch.Tensor, feats: torch.Tensor | None = None) -> torch.Tensor:
        """The head alone: pool the top layers' hidden states and classify (arguments as :meth:`forward`)."""
        if self.cfg.pool == "cls":
            pooled = x[:, 0]
        else:
            weights = mask.to(x.dtype)[..., None]
            pooled = (x * weights).sum(1) / weights.sum(1).clamp(min=1.0)
        if self.feat_norm is not None:
            pooled = torch.cat([pooled, self.feat_norm(feats)], dim=-1)
        p = self.cfg.dropout if self.training else 0.0
        hidden = torch.tanh(self.head_dense(F.dropout(pooled, p, self.training)))
        return self.head_out(F.dropout(hidden, p, self.training))

    def init_from_base(self, state: dict[str, torch.Tensor], first_layer: int) -> None:
        """Start the top layers from the base model's layers ``first_layer..first_layer+N-1``.

        Args:
            state: a BertModel state dict.
            first_layer: index of the base layer that the first top layer copies.
        """
        copy_base_layers(self.layers, state, first_layer)


def copy_base_layers(layers: nn.ModuleList, state: dict[str, torch.Tensor], first_layer: int) -> None:
    """Copy BertModel layers ``first_layer..`` into :class:`EncoderLayer` modules.

    Args:
        layers: the EncoderLayers to fill.
        state: a BertModel state dict.
        first_layer: index of the base layer that ``layers[0]`` copies.
    """
    for i, layer in enumerate(layers):
        for short, path in LAYER_PARAMS.items():
            module = getattr(layer, short)
            for param in ("weight", "bias"):
                getattr(module, param).data.copy_(state[f"encoder.layer.{first_layer + i}.{path}.{param}"])


def load_lower(base_dir: Path, n_top: int) -> tuple[nn.Module, dict[str, torch.Tensor], TopConfig]:
    """Load the base BertModel, keep its lower layers frozen, and return the weights of the rest.

    Args:
        base_dir: a BertModel directory (the built e5 model).
        n_top: how many top layers the cross-encoder replaces.

    Returns:
        (lower BertModel in eval mode, the full base state dict, a TopConfig shaped like the base).
    """
    from transformers import BertModel
    from transformers.utils import logging as hf_logging

    # The loader's progress bar would land on stderr of every command that loads the model (e.g. `nli --json`).
    hf_logging.disable_progress_bar()
    model = BertModel.from_pretrained(str(base_dir))
    cfg = model.config
    if not 0 < n_top <= cfg.num_hidden_layers:
        raise ValueError(f"n_top must be within 1..{cfg.num_hidden_layers}, not {n_top}")
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    # The lower layers run once per pair and never train: cut the encoder below the fine-tuned top.
    model.encoder.layer = model.encoder.layer[: cfg.num_hidden_layers - n_top]
    top = TopConfig(n_top, cfg.hidden_size, cfg.num_attention_heads, cfg.intermediate_size, cfg.layer_norm_eps)
    cfg.num_hidden_layers -= n_top
    model.eval().requires_grad_(False)
    return model, state, top


def lower_digest(lower: nn.Module) -> str:
    """Fingerprint the frozen lower part, so shipped top layers refuse a different base model.

    Args:
        lower: the model returned by :func:`load_lower`.

    Returns:
        16 hex digits of a sha256 over the lower layers (every 97th row of the word embeddings).
    """
    digest = hashlib.sha256()
    for name, tensor in sorted(lower.state_dict().items()):
        # Hashing the whole 250k-row embedding would take seconds; a stride samples every block of it.
        data = tensor[::97] if name.endswith("word_embeddings.weight") else tensor
        digest.update(name.encode() + np.ascontiguousarray(data.float().numpy()).tobytes())
    return digest.hexdigest()[:16]


def pad_batch(token_lists: list[list[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`indexer.onnx.tokenizer.pad_rows` as torch tensors.

    Args:
        token_lists: token ids of each sequence.
        pad_id: the tokenizer's pad id.

    Returns:
        (input_ids [b, L] long, mask [b, L] bool, True on real tokens).
    """
    ids, mask = pad_rows(token_lists, pad_id)
    return torch.from_numpy(ids), torch.from_numpy(mask).bool()
