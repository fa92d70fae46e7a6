"""Does NLI reranking help? XQuAD retrieval and XNLI claims with and without it (``python -m bench.rerank_xquad``).

1. XQuAD: English questions against the 240 paragraphs of one language; e5 retrieves the top k, then the
   NLI model reranks them. R@1 and MRR@k of the gold paragraph, for a grid of weights and two hypotheses:
   the question as it is, or the template "This text is about {query}.".
2. Claims: English XNLI hypotheses (held-out ids) against the held-out premises of one language. The gold
   premise supports, contradicts or is neutral to the claim; we report its rank with and without reranking,
   by label (``decisive``: supporting and contradicting premises together), and whether its stance is right.
3. ``product@w`` rows: only queries that read as claims are reordered (questions keep the vector order), and the
   share of XQuAD questions and XNLI hypotheses that the product reads as claims.
"""

from __future__ import annotations

import argparse
import logging
import time
from typing import Any

import numpy as np

from app.claims import is_claim
from app.rerank import DEFAULT_WEIGHT, KEYWORD_TEMPLATE, combine, hypothesis
from bench.data import load_xquad
from bench.env import load_direct_model, run_standalone, standalone_parser
from bench.nli_xnli import held_out_pairs
from indexer.model_build import ensure_default_model
from indexer.nli import LABELS, NliModel, load_nli
from indexer.nli.data import calibration_split

logger = logging.getLogger(__name__)
WEIGHTS = (0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0)
TEMPLATES = {"none": None, "about": KEYWORD_TEMPLATE}


def retrieve(encoder, queries: list[str], corpus: list[str], k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-k corpus rows per query by cosine of e5 embeddings ("query: " / "passage: " prompts).

    Args:
        encoder: the SentenceTransformer.
        queries: query texts.
        corpus: passage texts.
        k: candidates per query.

    Returns:
        (rows [q, k], scores [q, k]), best first.
    """
    q = encoder.encode(queries, prompt_name="query", normalize_embeddings=True, batch_size=32)
    d = encoder.encode(corpus, prompt_name="document", normalize_embeddings=True, batch_size=16)
    sims = q @ d.T
    rows = np.argsort(-sims, axis=1)[:, :k]
    return rows, np.take_along_axis(sims, rows, axis=1)


def gold_ranks(scores: np.ndarray, rows: np.ndarray, gold: np.ndarray) -> np.ndarray:
    """1-based rank of the gold row among the candidates under ``scores`` (0 when not retrieved).

    Args:
        scores: final scores [q, k].
        rows: candidate rows [q, k].
        gold: gold row per query.

    Returns:
        Ranks [q].
    """
    order = np.argsort(-scores, axis=1, kind="stable")
    ranked = np.take_along_axis(rows, order, axis=1)
    hit = ranked == gold[:, None]
    return np.where(hit.any(1), hit.argmax(1) + 1, 0)


def summarize(ranks: np.ndarray) -> dict[str, float]:
    """R@1 and MRR (over the candidates) in percent.

    Args:
        ranks: 1-based gold ranks, 0 = missed.

    Returns:
        ``{"r1": .., "mrr": .., "n": ..}``.
    """
    rr = np.where(ranks > 0, 1.0 / np.maximum(ranks, 1), 0.0)
    return {
        "r1": round(100 * float((ranks == 1).mean()), 2),
        "mrr": round(100 * float(rr.mean()), 2),
        "n": int(len(ranks)),
    }


def nli_probs(
    nli: NliModel, rows: np.ndarray, corpus: list[str], queries: list[str], template: str | None
) -> np.ndarray:
    """NLI probabilities of every (candidate, query) pair: [q, k, 3]."""
    premises = [corpus[r] for row in rows for r in row]
    hyps = [hypothesis(q, template) for q, row in zip(queries, rows, strict=True) for _ in row]
    return nli.predict(premises, hyps, batch_size=16).reshape(*rows.shape, len(LABELS))


def weight_grid(
    rows: np.ndarray, scores: np.ndarray, probs: np.ndarray, gold: np.ndarray, claims: np.ndarray | None = None
) -> dict[str, dict]:
    """Metrics for each weight of the two combinations: p(entail)+p(contradict) ("decisive") and p(entail) alone.

    ``product@w`` is what the product does: the decisive combination for the queries that read as claims
    (``claims``, from :func:`app.claims.is_claim`), the vector order for questions and keywords.
    """
    out = {}
    claims = np.ones(len(rows), dtype=bool) if claims is None else claims
    for w in WEIGHTS:
        flat = probs.reshape(-1, 3)
        decisive = combine(scores.reshape(-1), flat, w).reshape(scores.shape)
        out[f"decisive@{w}"] = summarize(gold_ranks(decisive, rows, gold))
        out[f"entail@{w}"] = summarize(gold_ranks(scores + w * probs[..., 0], rows, gold))
        out[f"product@{w}"] = summarize(gold_ranks(np.where(claims[:, None], decisive, scores), rows, gold))
    return out


def query_kinds(eval_dir) -> dict[str, dict[str, float]]:
    """Share of XQuAD questions (12 languages) and XNLI-dev hypotheses (15) that read as claims, in percent."""
    from indexer.nli.data import XNLI_LANGUAGES, read_xnli

    xquad = load_xquad(eval_dir)
    questions = {lang: [q.text for q in qs] for lang, qs in xquad.questions.items()}
    hyps = {lang: sorted({p.hypothesis for p in read_xnli(eval_dir / "xnli-dev", (lang,))}) for lang in XNLI_LANGUAGES}

    def share(texts: list[str]) -> float:
        return round(100 * float(np.mean([is_claim(t) for t in texts])), 2)

    return {
        "xquad_questions": {k: share(v) for k, v in questions.items()},
        "xnli_hypotheses": {k: share(v) for k, v in hyps.items()},
    }


def xquad_part(args: argparse.Namespace, encoder, nli: NliModel) -> dict:
    """XQuAD: English questions, paragraphs of each corpus language."""
    xquad = load_xquad(args.eval_dir, tuple(dict.fromkeys(("en", *args.langs))))
    rng = np.random.default_rng(0)
    picked = sorted(rng.choice(len(xquad.questions["en"]), size=args.questions, replace=False).tolist())
    questions = [xquad.questions["en"][i] for i in picked]
    queries, gold = [q.text for q in questions], np.array([q.pid for q in questions])
    out = {}
    for lang in args.langs:
        corpus = xquad.paragraphs[lang]
        rows, scores = retrieve(encoder, queries, corpus, args.k)
        claims = np.array([is_claim(q) for q in queries])
        out[lang] = {
            name: weight_grid(rows, scores, nli_probs(nli, rows, corpus, queries, template), gold, claims)
            for name, template in TEMPLATES.items()
        }
        logger.info(
            "xquad en->%s: vector R@1 %.1f; decisive@0.05 R@1 %.1f",
            lang,
            out[lang]["none"]["decisive@0.0"]["r1"],
            out[lang]["none"]["decisive@0.05"]["r1"],
        )
    return out


def claims_part(args: argparse.Namespace, encoder, nli: NliModel) -> dict:
    """XNLI claims: English hypotheses against the held-out premises of each language."""
    held = held_out_pairs(args.eval_dir / "xnli-dev")
    if args.claim_ids != "all":  # weights are chosen on the calibration half and reported on the other half
        held = calibration_split(held)[0 if args.claim_ids == "calibration" else 1]
    english = [p for p in held if p.lang == "en"]
    rng = np.random.default_rng(0)
    claims = [
        english[i]
        for i in sorted(rng.choice(len(english), size=min(args.claims, len(english)), replace=False).tolist())
    ]
    out = {}
    for lang in args.claim_langs:
        premise_of = {p.group: p.premise for p in held if p.lang == lang}
        corpus = sorted(set(premise_of.values()))
        row_of = {t: i for i, t in enumerate(corpus)}
        gold = np.array([row_of[premise_of[c.group]] for c in claims])
        labels = np.array([c.label for c in claims])
        queries = [c.hypothesis for c in claims]
        rows, scores = retrieve(encoder, queries, corpus, args.k)
        probs = nli_probs(nli, rows, corpus, queries, None)
        claim = np.array([is_claim(q) for q in queries])
        out[lang] = {"stance_accuracy": _stance_accuracy(rows, probs, gold, labels), "by_label": {}}
        for y, name in enumerate(LABELS):
            sel = labels == y
            out[lang]["by_label"][name] = weight_grid(rows[sel], scores[sel], probs[sel], gold[sel], claim[sel])
        decides = labels != LABELS.index("neutral")
        out[lang]["by_label"]["decisive"] = weight_grid(
            rows[decides], scores[decides], probs[decides], gold[decides], claim[decides]
        )
    return out


def _stance_accuracy(rows: np.ndarray, probs: np.ndarray, gold: np.ndarray, labels: np.ndarray) -> float | None:
    """Share of retrieved gold premises whose predicted stance matches the XNLI label, in percent."""
    hit = rows == gold[:, None]
    found = hit.any(1)
    if not found.any():
        return None
    predicted = probs[found][hit[found]].argmax(-1)
    return round(100 * float((predicted == labels[found]).mean()), 2)


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Run both parts.

    Args:
        args: the parsed command line.

    Returns:
        The measurements (``run_standalone`` adds the machine facts and writes them).
    """
    started = time.perf_counter()
    encoder = load_direct_model(str(ensure_default_model(args.cache_dir)))
    nli = load_nli(args.model, args.cache_dir, args.backend, args.quant, threads=args.threads)
    return {
        "model": args.model,
        "k": args.k,
        "questions": args.questions,
        "claims": args.claims,
        "claim_ids": args.claim_ids,
        "default_weight": DEFAULT_WEIGHT,
        "xquad": xquad_part(args, encoder, nli) if args.questions else {},
        "claims_check": claims_part(args, encoder, nli),
        "query_kinds": query_kinds(args.eval_dir),
        "seconds": round(time.perf_counter() - started, 1),
    }


def _parser() -> argparse.ArgumentParser:
    """The shared options plus this benchmark's own: languages, sample sizes and candidates per query."""
    p = standalone_parser("rerank_xquad", __doc__)
    p.add_argument("--langs", type=lambda s: s.split(","), default=["en", "de", "ru", "zh"])
    p.add_argument("--claim-langs", type=lambda s: s.split(","), default=["en", "de", "ru", "zh"])
    p.add_argument("--questions", type=int, default=30, help="English XQuAD questions (seeded sample)")
    p.add_argument("--claims", type=int, default=150, help="English XNLI claims (seeded sample of held-out ids)")
    p.add_argument("--k", type=int, default=10, help="candidates reranked per query")
    p.add_argument(
        "--claim-ids",
        choices=("evaluation", "calibration", "all"),
        default="evaluation",
        help="which half of the held-out XNLI ids the claims come from",
    )
    p.add_argument("--backend", default="auto", choices=("auto", "onnx", "torch"), help="runtime of builtin:nli")
    p.add_argument("--quant", default="int8", choices=("int8", "fp32"), help="ONNX weights of builtin:nli")
    return p


if __name__ == "__main__":
    raise SystemExit(run_standalone(_parser(), run))
