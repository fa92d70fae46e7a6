"""One timed ingest run in its own process, so that its peak memory is its own: the product or the baseline.

Usage: ``python -m bench.ingest_worker SYSTEM CORPUS WORK OUT.json [--threads N]``; SYSTEM is ``baseline`` or
``product`` (the default embedding backend) or ``product-torch``, ``product-onnx-fp32``, ``product-onnx-int8``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from bench.env import peak_rss_mb, rss_mb

#: The hand-written baseline's chunk size, in whitespace-separated words.
BASELINE_WORDS = 200
WARM_UP = "A short warm-up sentence, so that first-call costs are not timed."


#: Product systems: (embed_backend, embed_quant) overrides; "product" keeps the defaults.
PRODUCTS = {"product": {}, "product-torch": {"embed_backend": "torch"},
            "product-onnx-fp32": {"embed_backend": "onnx", "embed_quant": "fp32"},
            "product-onnx-int8": {"embed_backend": "onnx", "embed_quant": "int8"}}


def product(corpus: Path, work: Path, threads: int, overrides: dict[str, str] | None = None) -> dict[str, Any]:
    """Ingest the corpus folder through ``SearchService.ingest`` into a fresh data directory.

    Args:
        corpus: folder of .txt files.
        work: scratch folder.
        threads: CPU threads (0: all cores).
        overrides: settings such as ``embed_backend`` and ``embed_quant``.

    Returns:
        Wall time, counts, the pipeline's per-stage seconds and memory.
    """
    from app.service import SearchService
    from indexer.config import load_settings
    from indexer.embedder import load_embedder
    from indexer.language import detect_language

    settings = load_settings(str(work / "product-home"), environ={}, threads=threads or None, **(overrides or {}))
    s = settings
    # Loaded (and, the first time, exported to ONNX) before the clock starts, like the model itself.
    embedder = load_embedder(s.model, s.prompts, s.cache_path, s.batch_size, s.threads, s.embed_backend,
                             s.embed_quant)
    service = SearchService(settings, embedder)
    # Untimed warm-up: the model's first forward pass and the language detector's models.
    embedder.encode_documents([WARM_UP])
    detect_language(WARM_UP)
    service.indexer.vectors
    rss_loaded = rss_mb()
    t0 = time.perf_counter()
    report = service.ingest([corpus], "bench")
    wall = time.perf_counter() - t0
    texts = [info.text for info in service.store.chunks(service.store.chunk_ids()).values()]
    service.close()
    return {"wall_s": round(wall, 2), "documents": sum(f.documents for f in report.files),
            "failed": len(report.failed), "chunks": report.n_chunks,
            "tokens_embedded": int(embedder.count_tokens(texts, settings.document_prompt).clip(max=512).sum()),
            "stage_s": {k: round(v, 2) for k, v in report.timings.items()},
            "rss_after_model_mb": round(rss_loaded, 1), "peak_rss_mb": round(peak_rss_mb(), 1),
            "embed_backend": embedder.backend_label}


def baseline(corpus: Path, work: Path, threads: int) -> dict[str, Any]:
    """What a user would write by hand: read files, split every 200 words, ``encode_document``, FAISS add.

    Returns:
        Wall time, counts, per-stage seconds and memory.
    """
    import faiss

    from bench.env import load_direct_model
    from indexer.config import load_settings
    from indexer.embedder import resolve_model_path

    settings = load_settings(str(work / "unused"), environ={})
    model = load_direct_model(resolve_model_path(settings.model, settings.cache_path))
    model.encode_document([WARM_UP])
    rss_loaded = rss_mb()
    stages: dict[str, float] = {}
    t0 = time.perf_counter()
    texts = [path.read_text(encoding="utf-8") for path in sorted(corpus.glob("*.txt"))]
    t1 = time.perf_counter()
    chunks = [" ".join(words[i:i + BASELINE_WORDS]) for words in (t.split() for t in texts)
              for i in range(0, len(words), BASELINE_WORDS)]
    t2 = time.perf_counter()
    vectors = model.encode_document(chunks, batch_size=32, convert_to_numpy=True)
    t3 = time.perf_counter()
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(vectors)
    faiss.write_index(index, str(work / "baseline.faiss"))
    t4 = time.perf_counter()
    stages.update(load=t1 - t0, chunk=t2 - t1, embed=t3 - t2, write=t4 - t3)
    tokens = model.tokenizer([model.prompts.get("document", "") + c for c in chunks])["input_ids"]
    return {"wall_s": round(t4 - t0, 2), "documents": len(texts), "failed": 0, "chunks": len(chunks),
            "tokens_embedded": int(sum(min(len(t), model.max_seq_length) for t in tokens)),
            "stage_s": {k: round(v, 2) for k, v in stages.items()}, "rss_after_model_mb": round(rss_loaded, 1),
            "peak_rss_mb": round(peak_rss_mb(), 1)}


def main(argv: list[str] | None = None) -> int:
    """Run one system and write its measurements as JSON.

    Args:
        argv: arguments (default: sys.argv[1:]).

    Returns:
        The exit code.
    """
    p = argparse.ArgumentParser(prog="python -m bench.ingest_worker")
    p.add_argument("system", choices=[*PRODUCTS, "baseline"])
    p.add_argument("corpus", type=Path)
    p.add_argument("work", type=Path)
    p.add_argument("out", type=Path)
    p.add_argument("--threads", type=int, default=0)
    args = p.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.threads and args.system == "baseline":
        # The product sets its own threads; the hand-written baseline gets them the way a user would.
        import torch

        torch.set_num_threads(args.threads)
    args.work.mkdir(parents=True, exist_ok=True)
    if args.system == "baseline":
        result = baseline(args.corpus, args.work, args.threads)
    else:
        result = product(args.corpus, args.work, args.threads, PRODUCTS[args.system])
    # Recorded only where torch was loaded anyway: importing it here must not count in the ONNX runs' memory.
    torch = sys.modules.get("torch")
    result["torch_threads"] = torch.get_num_threads() if torch else None
    result["torch_loaded"] = torch is not None
    args.out.write_text(json.dumps(result, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
