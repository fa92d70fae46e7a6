"""ONNX Runtime embedder: the torch embedder's tokenisation, prompts, pooling and normalisation, faster."""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np

from indexer.embedder import Embedder, resolve_model_path
from indexer.errors import ModelUnavailableError

logger = logging.getLogger(__name__)

POOLING_MODES = ("mean", "cls")


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise ModelUnavailableError(f"{path}: cannot read ({e})") from e


def _local_dir(path: str) -> Path:
    """A Hub id becomes its local snapshot (offline: only when already downloaded)."""
    if Path(path).expanduser().is_dir():
        return Path(path).expanduser()
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(path))
    except Exception as e:  # offline, unknown id, network...
        raise ModelUnavailableError(f"cannot find a local copy of {path!r} to export to ONNX: {e}") from e


def st_layout(model_dir: Path) -> dict[str, Any]:
    """Read a sentence-transformers directory: encoder folder, pooling mode, sequence limit, lower-casing.

    Args:
        model_dir: the model directory (modules.json + module folders, or a bare Hugging Face encoder).

    Returns:
        ``{"encoder_dir", "pooling", "max_seq_length", "do_lower_case"}``.

    Raises:
        ModelUnavailableError: if the pipeline is not Transformer -> Pooling (mean or CLS) [-> Normalize].
    """
    modules = _read_json(model_dir / "modules.json") if (model_dir / "modules.json").is_file() else []
    kinds = [m["type"].rsplit(".", 1)[-1] for m in modules]
    if modules and (kinds[:2] != ["Transformer", "Pooling"] or set(kinds[2:]) - {"Normalize"}):
        raise ModelUnavailableError(
            f"{model_dir}: modules {kinds} are not Transformer -> Pooling [-> Normalize]; "
            "the ONNX backend supports only that (BABELSEARCH_EMBED_BACKEND=torch)"
        )
    encoder_dir = model_dir / modules[0]["path"] if modules else model_dir
    pooling = "mean"
    if modules:
        config = _read_json(model_dir / modules[1]["path"] / "config.json")
        # Newer configs name the mode; older ones set one boolean per mode.
        old_keys = {"mean": "pooling_mode_mean_tokens", "cls": "pooling_mode_cls_token"}
        pooling = str(config.get("pooling_mode") or next((m for m, k in old_keys.items() if config.get(k)), "other"))
        if config.get("include_prompt") is False:
            pooling = "mean-without-prompt"
    if pooling not in POOLING_MODES:
        raise ModelUnavailableError(
            f"{model_dir}: pooling {pooling!r} is not supported by the ONNX backend "
            f"({', '.join(POOLING_MODES)}); set BABELSEARCH_EMBED_BACKEND=torch"
        )
    st_config = encoder_dir / "sentence_bert_config.json"
    st = _read_json(st_config) if st_config.is_file() else {}
    return {
        "encoder_dir": encoder_dir,
        "pooling": pooling,
        "max_seq_length": st.get("max_seq_length"),
        "do_lower_case": bool(st.get("do_lower_case", False)),
    }


class OnnxEmbedder(Embedder):
    """Embeds like :class:`Embedder` but runs the encoder with ONNX Runtime (fp32 or int8).

    Args:
        model: configured model name (see ``resolve_model_path``).
        prompts: ``{"query": ..., "document": ...}`` prefixes.
        cache_dir: where built-in models are built and ONNX exports are written.
        batch_size: passages per forward pass.
        threads: ONNX Runtime intra-op threads (0: all cores).
        quant: ``"int8"`` or ``"fp32"``.
        scheme: int8 weight scheme (default: chosen for this CPU, see ``indexer.onnx.int8_scheme_for_cpu``).
    """

    backend = "onnx"

    def __init__(
        self,
        model: str,
        prompts: dict[str, str],
        cache_dir: Path,
        batch_size: int = 32,
        threads: int = 0,
        quant: str = "int8",
        scheme: str | None = None,
    ):
        from indexer.onnx import ensure_onnx_model, make_session
        from indexer.onnx.tokenizer import EncoderTokenizer

        self.model_id = model
        self.prompts = dict(prompts)
        self.batch_size = batch_size
        self.quant = quant
        model_dir = _local_dir(resolve_model_path(model, cache_dir))
        layout = st_layout(model_dir)
        self.pooling, self.do_lower_case = layout["pooling"], layout["do_lower_case"]
        self.onnx = ensure_onnx_model(layout["encoder_dir"], cache_dir, quant, scheme)
        self.scheme = self.onnx.scheme
        self.session = make_session(self.onnx.path, threads)
        self.model = None  # no torch model: the encoder is the ONNX session
        self.tokenizer = EncoderTokenizer(layout["encoder_dir"], self.onnx.path.parent)
        config = _read_json(layout["encoder_dir"] / "config.json")
        self.dim = int(config["hidden_size"])
        limits = [layout["max_seq_length"], self.tokenizer.model_max_length, config.get("max_position_embeddings")]
        self.max_tokens = int(min(x for x in limits if isinstance(x, int) and x > 0))
        self.fingerprint = self._fingerprint()

    @property
    def backend_label(self) -> str:
        """``"onnx int8 (s8-reduce-range)"`` or ``"onnx fp32"``: what the fingerprint covers."""
        return f"onnx {self.quant}" + (f" ({self.scheme})" if self.scheme else "")

    def _fingerprint(self) -> str:
        # The exported file's digest stands for the weights; backend, quantisation and pooling are named too.
        digest = hashlib.sha256()
        digest.update(repr(sorted(self.prompts.items())).encode())
        digest.update(f"{self.backend_label}|{self.pooling}|{self.onnx.sha256}".encode())
        return digest.hexdigest()[:16]

    def token_spans(self, text: str) -> list[tuple[int, int]]:
        """Character spans of the model's tokens in ``text`` (no special tokens)."""
        return self.tokenizer.spans(text)

    def count_tokens(self, texts: list[str], prompt: str = "") -> np.ndarray:
        """Token counts including special tokens and ``prompt``, as the model sees them."""
        return self.tokenizer.counts([prompt + t for t in texts])

    def _encode(self, texts: list[str], prompt: str) -> np.ndarray:
        if not texts:
            return np.empty((0, self.dim), dtype=np.float32)
        texts = [prompt + t for t in texts]
        if self.do_lower_case:
            texts = [t.lower() for t in texts]
        input_ids, mask = self.tokenizer.batch(texts, self.max_tokens)
        hidden = self.session.run(["last_hidden_state"], {"input_ids": input_ids, "attention_mask": mask})[0]
        if self.pooling == "cls":
            pooled = hidden[:, 0]
        else:
            # Mean over real tokens only (prompt included, as sentence-transformers does by default).
            weights = mask[:, :, None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return np.ascontiguousarray(pooled / np.clip(norms, 1e-12, None), dtype=np.float32)
