"""Embedder check on Tatoeba: sentence retrieval accuracy@1 in both directions, with prompt controls."""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np

from bench.data import TATOEBA_MORE, TATOEBA_XNLI, load_tatoeba
from bench.env import Context, write_result
from bench.metrics import accuracy_at_1

logger = logging.getLogger(__name__)

NAME = "tatoeba"
BATCH = 32
SIZES = {
    "quick": {"langs": {"de": "deu", "zh": "cmn"}, "limit": 24, "control": ("de",), "control_limit": 12},
    "full": {"langs": {**TATOEBA_XNLI, **TATOEBA_MORE}, "limit": 1000, "control": ("de", "zh", "sw"),
             "control_limit": 300},
    "complete": {"langs": {**TATOEBA_XNLI, **TATOEBA_MORE}, "limit": 1000, "control": ("de", "zh", "sw"),
                 "control_limit": 1000},
}


def run(ctx: Context) -> dict[str, Any]:
    """Accuracy@1 xx→eng and eng→xx with ``Embedder.encode_queries`` on both sides.

    e5 models take the "query: " prefix on both sides of a symmetric task such as bitext mining.
    Controls on a few languages: the passage prompt on both sides, no prompt, and the direct
    SentenceTransformer with ``encode_query``; a wrong prompt, pooling or normalisation shows up there.

    Args:
        ctx: the run context.

    Returns:
        The result written to ``tatoeba.json``.
    """
    started = time.perf_counter()
    size = SIZES[ctx.size]
    embedder = ctx.embedder
    per_lang: dict[str, Any] = {}
    sentences, seconds = 0, 0.0
    for lang, code3 in size["langs"].items():
        xx, en = load_tatoeba(ctx.options.eval_dir, code3, size["limit"])
        t0 = time.perf_counter()
        vx, ve = _queries(embedder, xx), _queries(embedder, en)
        seconds += time.perf_counter() - t0
        sentences += len(xx) + len(en)
        per_lang[lang] = {"tatoeba": code3, "pairs": len(xx), **_both_ways(vx, ve)}
        logger.info("tatoeba %s: %s", lang, per_lang[lang])
    controls = {lang: _controls(ctx, size["langs"][lang], size["control_limit"]) for lang in size["control"]}
    xnli = [lang for lang in per_lang if lang in TATOEBA_XNLI]
    result = {"config": {"encode": "Embedder.encode_queries on both sides ('query: ' prefix)", "limit": size["limit"],
                         "metric": "accuracy@1, cosine nearest neighbour among the pair's sentences"},
              "per_lang": per_lang, "avg_xnli": _mean(per_lang, xnli), "avg_all": _mean(per_lang, list(per_lang)),
              "controls": controls,
              "throughput": {"sentences": sentences, "seconds": round(seconds, 1),
                             "sentences_per_s": round(sentences / seconds, 1) if seconds else None}}
    write_result(ctx, NAME, result, started)
    return result


def _queries(embedder: Any, texts: list[str]) -> np.ndarray:
    # encode_queries embeds everything it is given as one batch, padded to the longest sentence:
    # slices of BATCH keep the padding (and the time) down without changing the vectors.
    return np.concatenate([embedder.encode_queries(texts[i:i + BATCH]) for i in range(0, len(texts), BATCH)])


def _both_ways(vx: np.ndarray, ve: np.ndarray) -> dict[str, float]:
    sim = vx @ ve.T
    return {"xx2en": accuracy_at_1(sim.argmax(axis=1)), "en2xx": accuracy_at_1(sim.argmax(axis=0))}


def _mean(per_lang: dict[str, Any], langs: list[str]) -> dict[str, Any]:
    if not langs:
        return {"n_langs": 0}
    return {"xx2en": round(float(np.mean([per_lang[x]["xx2en"] for x in langs])), 2),
            "en2xx": round(float(np.mean([per_lang[x]["en2xx"] for x in langs])), 2), "n_langs": len(langs)}


def _controls(ctx: Context, code3: str, limit: int) -> dict[str, Any]:
    # Same sentences, four encodings: the product's, passage prompt, no prompt, and the direct model.
    xx, en = load_tatoeba(ctx.options.eval_dir, code3, limit)
    embedder, direct = ctx.embedder, ctx.direct_model
    model = embedder.model

    def plain(texts: list[str], prompt: str) -> np.ndarray:
        return model.encode(texts, prompt=prompt, batch_size=32, normalize_embeddings=True, convert_to_numpy=True)

    runs = {"query_prompt (product)": (_queries(embedder, xx), _queries(embedder, en)),
            "passage_prompt": (embedder.encode_documents(xx), embedder.encode_documents(en)),
            "no_prompt": (plain(xx, ""), plain(en, "")),
            "direct encode_query": (direct.encode_query(xx, batch_size=32), direct.encode_query(en, batch_size=32))}
    return {"pairs": len(xx), **{name: _both_ways(*vectors) for name, vectors in runs.items()}}
