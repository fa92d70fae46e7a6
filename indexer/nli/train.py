"""Train the shipped NLI cross-encoder: ``python -m indexer.nli.train --xnli-dir ... --nli-en-dir ... --out ...``."""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import random
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from indexer.nli.base import LABELS
from indexer.nli.builtin import save_weights
from indexer.nli.cache import LazyStates, encode_lower
from indexer.nli.data import (
    XNLI_LANGUAGES,
    XNLI_TRANSLATIONS,
    NliPair,
    cap_groups,
    cross_language_pairs,
    read_more,
    read_nli_en,
    read_xnli,
    read_xnli_translations,
    sample_languages,
    split_by_group,
)
from indexer.nli.fit import train_top
from indexer.nli.model import FEATURE_PROMPT, TopLayers, load_lower, lower_digest
from indexer.nli.shipped import WEIGHTS_DIR, read_config

logger = logging.getLogger(__name__)

#: Pairs drawn from each ``nli-more`` source (the shipped recipe): MNLI-style English first, then every language
#: the product lists; MPE and AmericasNLI are left out (image captions; languages e5 was not trained on).
MORE_CAPS = {
    "mnli_dev_matched": 9811,
    "mnli_dev_mismatched": 3912,
    "taxinli": 2200,
    "anli": 3198,
    "lingnli": 15000,
    "cad_snli": 4000,
    "conjnli": 3000,
    "ocnli": 5000,
    "indonli": 5000,
    "indonli_translate_train_small": 3000,
    "farstail": 4000,
    "parsinlu": 2658,
    "klue_nli": 3000,
    "jnli": 2423,
    "jsick": 2000,
    "sick_nl": 2000,
    "sick_br": 2000,
    "inferbr": 3000,
}
#: Pairs drawn from the English sets of ``nli-en``.
EN_CAPS = {"snli": 6000, "sick": 3000}


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--xnli-dir", type=Path, required=True, help="folder of xnli_validation_<lang>.tsv")
    p.add_argument("--nli-en-dir", type=Path, help="folder with snli/ and sick/ (English pairs); omit to skip")
    p.add_argument("--more-dir", type=Path, help="the nli-more folder (23 more sources); omit to skip")
    p.add_argument("--more-scale", type=float, default=0.6, help="multiply every nli-more cap (shipped: 0.6)")
    p.add_argument("--checkpoint", type=Path, help="resumable training state (default: <cache-dir>/nli-train.ckpt)")
    p.add_argument("--checkpoint-every", type=int, default=300, help="steps between checkpoints (0 = none)")
    p.add_argument(
        "--lazy",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="run the frozen lower layers batch by batch instead of caching their states (large sets)",
    )
    p.add_argument(
        "--calibrate",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="fit the temperature and badge threshold afterwards (python -m indexer.nli.calibrate)",
    )
    p.add_argument("--out", type=Path, default=WEIGHTS_DIR, help="where to write the weights and config")
    p.add_argument("--seed", type=int, default=0, help="seed of initialisation, sampling and shuffling")
    p.add_argument("--base-model", type=Path, help="BertModel directory; default: the built-in e5 model")
    p.add_argument("--cache-dir", type=Path, default=Path.home() / ".cache" / "babelsearch", help="built-in models")
    p.add_argument("--layers", type=int, default=8, help="top layers fine-tuned (and shipped)")
    p.add_argument("--pool", choices=("mean", "cls"), default="mean", help="head pooling")
    p.add_argument("--epochs", type=float, default=1, help="passes over the training pairs")
    p.add_argument("--lr", type=float, default=5e-5, help="peak AdamW learning rate")
    p.add_argument("--batch-size", type=int, default=32, help="pairs per step")
    p.add_argument("--max-length", type=int, default=128, help="tokens per pair (longest side truncated)")
    p.add_argument("--holdout", type=float, default=0.2, help="fraction of XNLI ids held out for validation")
    p.add_argument("--split-seed", type=int, default=0, help="seed of the held-out id split")
    p.add_argument("--langs-per-id", type=int, default=0, help="XNLI translations trained per id (0 = all 15)")
    p.add_argument("--cross-per-id", type=int, default=2, help="cross-language pairs per XNLI training id")
    p.add_argument("--cross-hypothesis", default="en", help="language of cross-language hypotheses ('' = any)")
    p.add_argument("--english", choices=("all", "snli", "sick", "none"), default="all", help="English sets used")
    p.add_argument("--languages", default=",".join(XNLI_LANGUAGES), help="comma-separated XNLI languages")
    p.add_argument("--max-ids", type=int, help="read only the first N ids per language (tiny runs)")
    p.add_argument("--max-en", type=int, help="read at most N pairs of each English set (tiny runs)")
    p.add_argument(
        "--eval-cross",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="also score held-out pairs with a foreign premise and an English hypothesis",
    )
    p.add_argument(
        "--features",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="join the base model's sentence embeddings [u, v, |u-v|, u*v] to the head",
    )
    p.add_argument("--device", default="cpu", help="torch device")
    p.add_argument("--threads", type=int, default=2, help="CPU threads")
    return p


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def load_training_data(args: argparse.Namespace) -> tuple[list[NliPair], dict[str, list[NliPair]]]:
    """Read the data, split XNLI by id, and add cross-language, English and ``nli-more`` training pairs.

    The ``nli-more`` translations of XNLI-dev items join their XNLI id, so they fall on the same side of the split.

    Args:
        args: the parsed command line.

    Returns:
        (training pairs, held-out pairs by evaluation language).
    """
    xnli = read_xnli(args.xnli_dir, tuple(args.languages.split(",")), args.max_ids)
    if args.more_dir:
        known = {p.group for p in xnli}
        xnli += [p for p in read_xnli_translations(args.more_dir, tuple(XNLI_TRANSLATIONS)) if p.group in known]
    train, held = split_by_group(xnli, args.holdout, args.split_seed)
    if args.langs_per_id:
        train = sample_languages(train, args.langs_per_id, args.seed)
    if args.cross_per_id:
        train += cross_language_pairs(train, args.cross_per_id, args.seed, args.cross_hypothesis or None)
    if args.nli_en_dir and args.english != "none":
        english = read_nli_en(args.nli_en_dir, args.max_en)
        english = [p for p in english if args.english == "all" or p.group.startswith(args.english)]
        train += cap_groups(english, EN_CAPS, args.seed) if args.more_dir else english
    if args.more_dir:
        caps = {k: round(v * args.more_scale) for k, v in MORE_CAPS.items()}
        train += read_more(args.more_dir, caps, args.seed)
    evals: dict[str, list[NliPair]] = defaultdict(list)
    for pair in held:
        evals[pair.lang].append(pair)
    if args.eval_cross and "en" in evals:
        english_hyp = {p.group: p.hypothesis for p in evals["en"]}
        evals["xx-en"] = [
            NliPair(p.premise, english_hyp[p.group], p.label, f"{p.lang}-en", p.group)
            for p in held
            if p.lang in XNLI_LANGUAGES and p.lang != "en"
        ]
    logger.info("training pairs: %d; held-out pairs: %d in %d sets", len(train), len(held), len(evals))
    return train, dict(evals)


def tokenize_pairs(tokenizer, pairs: list[NliPair], max_length: int) -> list[list[int]]:
    """Tokenise ``<s> premise </s></s> hypothesis </s>``, truncating the longer side first.

    Args:
        tokenizer: the base model's tokenizer.
        pairs: the pairs.
        max_length: most tokens per pair.

    Returns:
        Token ids of each pair.
    """
    enc = tokenizer(
        [p.premise for p in pairs], [p.hypothesis for p in pairs], truncation="longest_first", max_length=max_length
    )
    return enc["input_ids"]


def run(args: argparse.Namespace) -> dict:
    """Train and save: the whole command.

    Args:
        args: the parsed command line.

    Returns:
        The saved config (with the held-out scores).
    """
    _seed_everything(args.seed)
    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    train, held = load_training_data(args)
    base_dir = args.base_model or _default_base(args.cache_dir)
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(base_dir))
    lower, state, cfg = load_lower(base_dir, args.layers)
    lower.to(args.device)
    top = TopLayers(
        type(cfg)(**{**cfg.__dict__, "pool": args.pool, "features": 4 * cfg.hidden if args.features else 0})
    )
    top.init_from_base(state, lower.config.num_hidden_layers)
    top.to(args.device)
    pad = tokenizer.pad_token_id
    train_ids = tokenize_pairs(tokenizer, train, args.max_length)
    # Sentence features need every pair's states at once; plain training runs the frozen layers batch by batch.
    lazy = args.lazy and not args.features
    data = LazyStates(lower, train_ids, pad) if lazy else encode_lower(lower, train_ids, pad, device=args.device)
    feats = _features_fn(args, base_dir, tokenizer)

    def packed(pairs: list[NliPair]) -> tuple:
        ids = tokenize_pairs(tokenizer, pairs, args.max_length)
        return encode_lower(lower, ids, pad, device=args.device), np.array([p.label for p in pairs]), feats(pairs)

    evals = {name: packed(pairs) for name, pairs in sorted(held.items())}
    cached = time.perf_counter() - started
    checkpoint = args.checkpoint or args.cache_dir / "nli-train.ckpt"
    history = train_top(
        top, data, np.array([p.label for p in train]), feats(train), args, evals, checkpoint, _run_key(args)
    )
    config = {
        "max_length": args.max_length,
        "labels": list(LABELS),
        "feature_prompt": FEATURE_PROMPT,
        "base_digest": lower_digest(lower.cpu()),
        "heldout": history[-1] if history else {},
        "training": _describe(args, train, history, cached, time.perf_counter() - started),
    }
    save_weights(top.cpu(), config, args.out)
    if checkpoint.is_file():
        checkpoint.unlink()
    if args.calibrate:
        from indexer.nli.calibrate import main as calibrate

        calibrate(["--xnli-dir", str(args.xnli_dir), "--weights-dir", str(args.out), "--base-model", str(base_dir)])
        config = read_config(args.out)
    return config


def _run_key(args: argparse.Namespace) -> str:
    """Fingerprint of the options that shape the training run (a checkpoint of other options is refused)."""
    skip = ("out", "cache_dir", "device", "threads", "checkpoint", "checkpoint_every", "calibrate")
    options = {k: str(v) for k, v in sorted(vars(args).items()) if k not in skip}
    return hashlib.sha256(json.dumps(options).encode()).hexdigest()[:16]


def _describe(
    args: argparse.Namespace, train: list[NliPair], history: list[dict], cached: float, total: float
) -> dict:
    options = {
        k: (str(v) if isinstance(v, Path) else v)
        for k, v in vars(args).items()
        if k not in ("out", "cache_dir", "base_model", "xnli_dir", "nli_en_dir", "more_dir", "device", "threads")
        and k not in ("checkpoint", "checkpoint_every", "calibrate")
    }
    counts: dict[str, int] = defaultdict(int)
    for pair in train:
        counts[pair.group.split(":")[0] + ("-cross" if "-" in pair.lang else "")] += 1
    return {
        "options": options,
        "pairs": dict(counts),
        "history": history,
        "cache_s": round(cached, 1),
        "total_s": round(total, 1),
        "command": "python -m indexer.nli.train --xnli-dir <xnli-dev> "
        "--nli-en-dir <nli-en> --more-dir <nli-more> --out indexer/nli/weights --seed 0",
    }


def _features_fn(args: argparse.Namespace, base_dir: Path, tokenizer):
    """Return pairs -> [u, v, |u-v|, u*v] of the full base model's sentence embeddings (or None when unused)."""
    if not args.features:
        return lambda pairs: None
    from transformers import BertModel

    full = BertModel.from_pretrained(str(base_dir)).eval().requires_grad_(False).to(args.device)

    def feats(pairs: list[NliPair]) -> torch.Tensor:
        texts = sorted({p.premise for p in pairs} | {p.hypothesis for p in pairs})
        ids = tokenizer([FEATURE_PROMPT + t for t in texts], truncation=True, max_length=args.max_length)["input_ids"]
        packed = encode_lower(full, ids, tokenizer.pad_token_id, device=args.device)
        emb = torch.stack(
            [packed.states[a:b].float().mean(0) for a, b in zip(packed.offsets[:-1], packed.offsets[1:])]
        )
        emb = F.normalize(emb, dim=-1)
        row = {t: i for i, t in enumerate(texts)}
        u, v = emb[[row[p.premise] for p in pairs]], emb[[row[p.hypothesis] for p in pairs]]
        return torch.cat([u, v, (u - v).abs(), u * v], dim=-1)

    return feats


def _default_base(cache_dir: Path) -> Path:
    from indexer.model_build import ensure_default_model

    return ensure_default_model(cache_dir)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point.

    Args:
        argv: arguments (default: ``sys.argv[1:]``).

    Returns:
        Exit status.
    """
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    config = run(_parser().parse_args(argv))
    logger.info("held-out XNLI average accuracy %.3f", config["heldout"].get("avg", float("nan")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
