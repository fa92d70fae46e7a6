"""Why the product and the direct model differ on XQuAD: chunking, language detection, prompts; and the CLI path."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from bench.data import XQuAD
from bench.metrics import Doc, dedupe, judge, summarize
from bench.xquad_systems import COLLECTION, DirectSystem, Outcomes, ProductSystem, subset

#: Question sample per language for the query-embedding comparison.
QUERY_SAMPLE = 40


def chunk_facts(product: ProductSystem) -> tuple[dict[str, Any], dict[Doc, dict[str, Any]]]:
    """Per language: paragraphs split into chunks, chunks whose detected language is wrong, gold unreachable.

    A language filter selects chunks by their detected language, so a paragraph none of whose
    chunks is detected as its true language cannot be found by a filtered search.

    Args:
        product: the product system over the XQuAD collection.

    Returns:
        (per-language facts, (pid, language) → {"n_chunks", "reachable", "chunk_ids"}).
    """
    store = product.service.store
    infos = store.chunks(store.chunk_ids([COLLECTION]))
    by_doc: dict[Doc, list[Any]] = {}
    for info in infos.values():
        by_doc.setdefault(product.docmap[info.document_id], []).append(info)
    facts: dict[str, Any] = {}
    docs: dict[Doc, dict[str, Any]] = {}
    for (pid, lang), chunks in sorted(by_doc.items()):
        detected = [c.language for c in chunks]
        docs[(pid, lang)] = {"n_chunks": len(chunks), "reachable": lang in detected,
                             "chunk_ids": [c.chunk_id for c in sorted(chunks, key=lambda c: c.ordinal)]}
        row = facts.setdefault(lang, {"documents": 0, "split": 0, "chunks": 0, "chunks_wrong_language": 0,
                                      "unreachable_with_filter": 0, "detected_as": Counter()})
        row["documents"] += 1
        row["split"] += len(chunks) > 1
        row["chunks"] += len(chunks)
        row["chunks_wrong_language"] += sum(d != lang for d in detected)
        row["unreachable_with_filter"] += lang not in detected
        row["detected_as"].update(str(d) for d in detected if d != lang)
    for row in facts.values():
        row["detected_as"] = dict(row["detected_as"].most_common(5))
    return facts, docs


def embedding_agreement(product: ProductSystem, direct: DirectSystem, docs: dict[Doc, dict[str, Any]],
                        xquad: XQuAD, embedder: Any) -> dict[str, Any]:
    """Cosine between the product's and the direct model's vectors for the same text.

    Documents: single-chunk paragraphs (stored product embedding against ``encode_document``).
    Queries: ``Embedder.encode_queries`` against ``encode_query``. Values near 1.0 rule out a
    prompt, pooling or normalisation difference.
    """
    single = {doc: facts["chunk_ids"][0] for doc, facts in docs.items() if facts["n_chunks"] == 1}
    stored = product.service.store.embeddings(list(single.values()))
    doc_cos = [float(np.frombuffer(stored[cid], dtype=np.float32) @ direct.docs[lang][pid])
               for (pid, lang), cid in single.items() if cid in stored]
    query_cos = []
    for lang, questions in xquad.questions.items():
        sample = subset(questions, QUERY_SAMPLE)
        mine = embedder.encode_queries([q.text for q in sample])
        theirs = direct.queries[lang][[direct.qrow[lang][q.qid] for q in sample]]
        query_cos += np.einsum("ij,ij->i", mine, theirs).tolist()
    return {"documents": _cos_stats(doc_cos), "queries": _cos_stats(query_cos), "direct_prompts": direct.prompts,
            "product_prompts": dict(embedder.prompts)}


def _cos_stats(values: list[float]) -> dict[str, Any]:
    arr = np.asarray(values)
    if not len(arr):
        return {"n": 0}
    return {"n": int(len(arr)), "min": round(float(arr.min()), 5), "mean": round(float(arr.mean()), 5),
            "share_above_0.999": round(float((arr > 0.999).mean() * 100), 2)}


def gap_attribution(product: Outcomes, direct: Outcomes, docs: dict[Doc, dict[str, Any]],
                    xquad: XQuAD) -> dict[str, Any]:
    """For the filtered settings, classify the questions one system finds in the top 10 and the other not.

    A product miss is blamed on the language filter when the gold paragraph has no chunk detected
    in its language, else on chunking when the paragraph was split, else on "ranking".
    """
    pid_of = {q.qid: q.pid for questions in xquad.questions.values() for q in questions}
    out: dict[str, Any] = {}
    for (setting, key, _), judged in product.items():
        if setting not in ("mono", "en2x", "x2en") or (setting, key, "gold") not in direct:
            continue
        target = "en" if setting == "x2en" else key
        row = out.setdefault(setting, Counter())
        for qid, mine in judged.items():
            theirs = direct[(setting, key, "gold")].get(qid)
            hit_mine, hit_theirs = mine.rank is not None, theirs is not None and theirs.rank is not None
            if hit_mine and not hit_theirs:
                row["product_only"] += 1
            elif hit_theirs and not hit_mine:
                row["direct_only"] += 1
                facts = docs.get((pid_of[qid], target), {"reachable": False, "n_chunks": 0})
                cause = ("language_filter" if not facts["reachable"] else
                         "split_into_chunks" if facts["n_chunks"] > 1 else "ranking")
                row[f"direct_only_{cause}"] += 1
    return {setting: dict(row) for setting, row in out.items()}


def cli_check(product: ProductSystem, xquad: XQuAD, home: Path, pair: tuple[str, str], work_dir: Path,
              threads: int = 0) -> dict[str, Any]:
    """Run one language pair through ``babelsearch search --queries-file --json --lang`` and compare.

    Args:
        product: the in-process product system on the same data directory.
        xquad: the data.
        home: the data directory.
        pair: (query language, target language).
        work_dir: where the query file goes.
        threads: BABELSEARCH_THREADS for the CLI (0 = default).

    Returns:
        Metrics of both paths, the share of identical rankings and the CLI's wall time.
    """
    src, tgt = pair
    questions = xquad.questions[src]
    queries_file = work_dir / f"cli-queries-{src}.txt"
    queries_file.write_text("\n".join(q.text for q in questions) + "\n", encoding="utf-8")
    cmd = [*_cli(), "--home", str(home), "search", "--queries-file", str(queries_file), "--json", "--lang", tgt,
           "--k", "10"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("BABELSEARCH_")}
    env.update({"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"})
    # The benchmark's index is embedded by its shared torch embedder: the CLI must search with the same runtime.
    env["BABELSEARCH_EMBED_BACKEND"] = "torch"
    if threads:
        env["BABELSEARCH_THREADS"] = str(threads)
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1800, check=False)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"babelsearch search failed ({proc.returncode}): {proc.stderr[-2000:]}")
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    cli_chunks = [[r["chunk_id"] for r in line["results"]] for line in lines]
    cli_rank = [[(r["document_id"], product.docmap[r["document_id"]]) for r in line["results"]] for line in lines]
    responses = product.search([q.text for q in questions], (tgt,), {})
    lib_chunks = [[r.chunk_id for r in resp.results] for resp in responses]

    def accept(lang: str) -> bool:
        return lang == tgt

    shown = f"babelsearch --home HOME search --queries-file {src}-questions.txt --json --lang {tgt} --k 10"
    return {"pair": f"{src}→{tgt}", "command": shown, "wall_s": round(wall, 1),
            "cli": summarize([judge(dedupe(r), q.pid, accept) for q, r in zip(questions, cli_rank)]),
            "service": summarize([judge(product.ranking(r), q.pid, accept) for q, r in zip(questions, responses)]),
            "identical_rankings_pct": round(100 * np.mean([a == b for a, b in zip(cli_chunks, lib_chunks)]), 2)}


def _cli() -> list[str]:
    # The console script installed next to this interpreter; the module otherwise.
    script = Path(sys.executable).with_name("babelsearch")
    return [str(script)] if script.exists() else [sys.executable, "-m", "app.cli"]
