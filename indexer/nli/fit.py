"""Fine-tune the top layers on cached lower-layer states, and score them on held-out sets."""

from __future__ import annotations

import argparse
import logging
import math
import os
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from indexer.nli.cache import PackedStates
from indexer.nli.data import XNLI_LANGUAGES
from indexer.nli.model import TopLayers

logger = logging.getLogger(__name__)


def _optimizer(
    top: TopLayers, lr: float, total: int
) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LambdaLR]:
    """AdamW (no decay on biases and norms) with 10 % linear warm-up, then linear decay to zero."""
    decay = [p for n, p in top.named_parameters() if p.ndim > 1]
    no_decay = [p for n, p in top.named_parameters() if p.ndim <= 1]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}], lr=lr
    )
    warmup = max(1, total // 10)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warmup, max(0.0, (total - s) / (total - warmup + 1e-9)))
    )
    return opt, sched


def _epoch_batches(lengths: np.ndarray, batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Shuffle, then batch pairs of similar length inside windows of 50 batches (less padding, still random)."""
    order, window, batches = rng.permutation(len(lengths)), 50 * batch_size, []
    for start in range(0, len(order), window):
        chunk = order[start : start + window]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]


@torch.inference_mode()
def logits_of(top: TopLayers, packed: PackedStates, device: str, feats: torch.Tensor | None = None) -> np.ndarray:
    """Logits of the top layers on cached lower states.

    Args:
        top: the top layers and head.
        packed: lower-layer states of the pairs.
        device: torch device.
        feats: sentence features of the pairs, if the model uses them.

    Returns:
        float32 [pairs, 3], in the order of ``packed``.
    """
    top.eval()
    out = np.zeros((len(packed), 3), dtype=np.float32)
    for index in _epoch_batches(packed.lengths, 128, np.random.default_rng(0)):
        x, mask = packed.batch(index, device)
        f = feats[index].to(device) if feats is not None else None
        out[index] = top(x, mask, f).float().cpu().numpy()
    return out


def evaluate(
    top: TopLayers, packed: PackedStates, labels: np.ndarray, device: str, feats: torch.Tensor | None = None
) -> float:
    """Accuracy of the top layers on cached lower states.

    Args:
        top: the top layers and head.
        packed: lower-layer states of the pairs.
        labels: gold labels.
        device: torch device.
        feats: sentence features of the pairs, if the model uses them.

    Returns:
        Accuracy in [0, 1].
    """
    return float((logits_of(top, packed, device, feats).argmax(-1) == labels).mean()) if len(labels) else 0.0


def evaluate_all(top: TopLayers, evals: dict[str, tuple], device: str) -> dict[str, float]:
    """Accuracy per held-out set, plus ``avg`` over the monolingual XNLI languages.

    Args:
        top: the top layers and head.
        evals: name -> (packed states, labels).
        device: torch device.

    Returns:
        Set name -> accuracy.
    """
    scores = {name: evaluate(top, packed, labels, device, feats) for name, (packed, labels, feats) in evals.items()}
    mono = [v for k, v in scores.items() if k in XNLI_LANGUAGES]
    scores["avg"] = float(np.mean(mono)) if mono else float("nan")
    logger.info("held-out accuracy: %s", " ".join(f"{k}={v:.3f}" for k, v in scores.items()))
    return scores


def _save_checkpoint(path: Path, top: TopLayers, opt, sched, step: int, key: str) -> None:
    """Write the training state atomically (temp file + rename), so a killed run resumes from the last one."""
    tmp = path.with_name(path.name + ".tmp")
    state = {"key": key, "step": step, "top": top.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict()}
    torch.save(state | {"torch_rng": torch.get_rng_state()}, tmp)
    os.replace(tmp, path)
    logger.info("checkpoint at step %d: %s", step, path)


def _load_checkpoint(path: Path | None, top: TopLayers, opt, sched, key: str) -> int:
    """Restore a checkpoint of the same run (same ``key``) and return its step; 0 when there is none."""
    if path is None or not path.is_file():
        return 0
    state = torch.load(path, weights_only=False)
    if state["key"] != key:
        raise ValueError(f"{path} is a checkpoint of a run with other options; delete it or pass another --checkpoint")
    top.load_state_dict(state["top"])
    opt.load_state_dict(state["opt"])
    sched.load_state_dict(state["sched"])
    torch.set_rng_state(state["torch_rng"])
    logger.info("resuming from step %d (%s)", state["step"], path)
    return int(state["step"])


def train_top(
    top: TopLayers,
    data,
    labels: np.ndarray,
    feats: torch.Tensor | None,
    args: argparse.Namespace,
    evals: dict[str, tuple],
    checkpoint: Path | None = None,
    key: str = "",
) -> list[dict[str, float]]:
    """Fine-tune the top layers and head with AdamW, linear warm-up and decay; evaluate after each epoch.

    With ``checkpoint``, the state is saved every ``args.checkpoint_every`` steps and a run started again with the
    same options continues where the last checkpoint left off (same batches, same result as an unbroken run
    up to dropout noise).

    Args:
        top: the model part being trained (on ``args.device``).
        data: lower states of the training pairs (:class:`PackedStates` or :class:`LazyStates`).
        labels: their labels.
        feats: sentence features of the pairs, if the model uses them.
        args: the parsed command line (lr, epochs, batch size, seed, device, checkpoint_every).
        evals: held-out sets, scored after each epoch.
        checkpoint: file of the resumable training state.
        key: fingerprint of the run's options; a checkpoint of another run is refused.

    Returns:
        Held-out scores after each epoch.
    """
    rng = np.random.default_rng(args.seed)
    steps_per_epoch = math.ceil(len(labels) / args.batch_size)
    total = max(1, round(args.epochs * steps_per_epoch))
    opt, sched = _optimizer(top, args.lr, total)
    resume = _load_checkpoint(checkpoint, top, opt, sched, key)
    every = getattr(args, "checkpoint_every", 0)
    history, step, started = [], 0, time.perf_counter()
    y_all = torch.from_numpy(labels)
    while step < total:
        top.train()
        for index in _epoch_batches(data.lengths, args.batch_size, rng):
            if step < resume:
                step += 1
                continue
            x, mask = data.batch(index, args.device)
            f = feats[index].to(args.device) if feats is not None else None
            loss = F.cross_entropy(top(x, mask, f), y_all[index].to(args.device))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(top.parameters(), 1.0)
            opt.step()
            sched.step()
            step += 1
            if step % 200 == 0:
                logger.info(
                    "step %d/%d loss %.3f (%.2f steps/s)",
                    step,
                    total,
                    loss.item(),
                    (step - resume) / (time.perf_counter() - started),
                )
            if checkpoint is not None and every and step % every == 0 and step < total:
                _save_checkpoint(checkpoint, top, opt, sched, step, key)
            if step >= total:
                break
        if step > resume or step >= total:
            history.append(evaluate_all(top, evals, args.device) | {"step": step})
    return history
