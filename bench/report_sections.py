"""One Markdown section per benchmark, rendered from its JSON (tables and generated sentences only)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bench.md import fmt, table
from bench.report_crosslang import render_crosslang
from bench.report_xquad import render_xquad


def render_tatoeba(data: dict[str, Any]) -> str:
    """Tatoeba accuracy per language, averages and prompt controls."""
    cfg = data["config"]
    rows = [[lang, row["tatoeba"], row["pairs"], row["xx2en"], row["en2xx"]] for lang, row in data["per_lang"].items()]
    for label, key in (("mean, XNLI languages", "avg_xnli"), ("mean, all", "avg_all")):
        avg = data[key]
        rows.append([f"**{label}**", f"{avg['n_langs']} languages", "", avg.get("xx2en"), avg.get("en2xx")])
    out = [f"Encoding: {cfg['encode']}. Metric: {cfg['metric']} (up to {cfg['limit']} pairs per language). English "
           "is the other side of every pair. Published MTEB Tatoeba figures for multilingual-e5-small are not quoted "
           "here: MTEB reports F1 rather than accuracy@1, and no reference copy could be checked offline.\n",
           table(["language", "Tatoeba file", "pairs", "accuracy@1 xx→eng (%)", "accuracy@1 eng→xx (%)"], rows)]
    controls = data.get("controls", {})
    if controls:
        names = [k for k in next(iter(controls.values())) if k != "pairs"]
        rows = [[lang, c["pairs"], *[f"{fmt(c[n]['xx2en'])} / {fmt(c[n]['en2xx'])}" for n in names]]
                for lang, c in controls.items()]
        out += ["\nControls (xx→eng / eng→xx, %): the same sentences with other encodings. The product's column must "
                "equal the direct model's; the prompt columns show how much a wrong prefix would cost.\n",
                table(["language", "pairs", *names], rows)]
    t = data["throughput"]
    out.append(f"\nEmbedding speed in this run: {fmt(t['sentences_per_s'])} short sentences/s "
               f"({fmt(t['sentences'])} sentences in {fmt(t['seconds'])} s).\n")
    return "\n".join(out)


def render_ingest(data: dict[str, Any]) -> str:
    """Ingest throughput of both systems, by stage, with ratios and the length-sorting effect."""
    cfg = data["config"]
    row = data["rounds"][0]
    stages = ["load", "detect", "chunk", "embed", "write"]
    lines = []
    for system in cfg.get("systems", ("product", "baseline")):
        r = row[system]
        name = f"{system} ({r['embed_backend']})" if r.get("embed_backend") else system
        lines.append([name, r["documents"], r["chunks"], r["tokens_embedded"], r["wall_s"], r["documents_per_s"],
                      r["chunks_per_s"], r["tokens_embedded_per_s"], *[r["stage_s"].get(s) for s in stages],
                      r["rss_after_model_mb"], r["peak_rss_mb"]])
    s = data["summary"]
    lines.append(["**product / baseline**", "", "", "", "", f"× {fmt(s['documents_per_s_ratio'], 2)}",
                  f"× {fmt(s['chunks_per_s_ratio'], 2)}", f"× {fmt(s['tokens_per_s_ratio'], 2)}", *[""] * 5, "", ""])
    head = ["system", "documents", "chunks", "tokens embedded", "wall s", "docs/s", "chunks/s", "tokens/s",
            *[f"{s} s" for s in stages], "RSS after model load MB", "peak RSS MB"]
    ls = data["length_sorting"]
    per_round = "; ".join(f"round {n + 1}: × {fmt(r['chunks_per_s_ratio'], 2)} chunks/s, "
                          f"× {fmt(r['tokens_per_s_ratio'], 2)} tokens/s" for n, r in enumerate(data["rounds"]))
    return "\n".join([
        f"Corpus: {cfg['documents']} documents — {cfg['corpus']}. Product: `SearchService.ingest` on the folder "
        f"(stage times from `IngestReport.timings`). Baseline: {cfg['baseline']}. Each run is a fresh child process "
        "(model loaded and warmed up before the clock starts), so peak RSS is that system's own. The systems cut "
        "different chunks (the product: sentence-aware, at most 256 tokens with overlap; the baseline: 200 "
        "whitespace words, which for Chinese or Thai text is a whole document truncated at 512 tokens), so "
        "documents/s and tokens/s are the fairer comparisons; chunks/s is given as asked.\n",
        table(head, lines),
        f"\nThe table shows round 1; the ratio row is the median over {len(data['rounds'])} round(s), the systems "
        f"taking turns to go first ({per_round}).\n",
        _backend_ratios(data),
        _ingest_threads(data.get("threads")),
        "\nLength-sorted batching, same process, the product's own chunks of this corpus: "
        f"{fmt(ls['chunks'])} chunks ({fmt(ls['tokens'])} tokens) embedded with `Embedder.encode_documents` "
        f"(batches sorted by token count) in {fmt(ls['sorted_by_tokens_s'], 2)} s against "
        f"{fmt(ls['sentence_transformers_s'], 2)} s with `SentenceTransformer.encode` (sorted by characters): "
        f"× {fmt(ls['speedup'], 2)}. Padded tokens: {fmt(ls['padded_tokens_by_tokens'])} against "
        f"{fmt(ls['padded_tokens_by_chars'])}. Largest difference between the two sets of vectors: "
        f"{ls['max_abs_diff']:.1e}.\n",
    ])


def _backend_ratios(data: dict[str, Any]) -> str:
    systems = data["config"].get("systems")
    if not systems or "product-torch" not in systems:
        return ""
    s = data["summary"]
    rows = [[system, *[f"× {fmt(s.get(f'{system}_tokens_vs_{ref}'), 2)}" for ref in ("baseline", "torch")]]
            for system in systems if system != "baseline"]
    threads = data["config"].get("threads") or "all cores"
    return ("\nTokens/s of each product configuration, median over the rounds, against the hand-written baseline and "
            f"against the product's own torch path (threads: {threads}):\n\n"
            + table(["system", "vs baseline", "vs product torch"], rows) + "\n")


def _ingest_threads(threads: dict[str, Any] | None) -> str:
    if not threads:
        return ""
    speeds = ", ".join(f"{n} thread(s): {fmt(v)} tokens/s ({fmt(threads['chunks_per_s_by_threads'][n])} chunks/s)"
                       for n, v in threads["tokens_per_s_by_threads"].items())
    return (f"\nThreads, the default product ({threads['embed_backend']}) ingesting the same corpus, one run each, "
            f"1-minute load average {fmt(threads['load_average'], 2)}: {speeds}.\n")


def render_backends(data: dict[str, Any]) -> str:
    """Quality and query speed of each embedding backend against torch fp32, with the target checks."""
    cfg = data["config"]
    rows = []
    for label, r in data["backends"].items():
        t = data["targets"].get(label, {})
        rows.append([label, r["xquad_r10"]["en2x"], r["xquad_r10"]["x2en"], r["xquad_r10"]["cross_lingual"],
                     f"{t['xquad_delta']:+.2f}" if t else "", r["tatoeba"]["avg"],
                     f"{t['tatoeba_delta']:+.2f}" if t else "", r["query_ms_one_thread"]["p50"],
                     r["query_ms_one_thread"]["p95"], f"{r['passage_cosine_to_torch']['min']:.4f}",
                     f"{r['passage_cosine_to_torch']['mean']:.4f}", r["ingest_s"]])
    checks = "; ".join(f"{label}: XQuAD {'yes' if t['xquad_ok'] else '**no**'}, Tatoeba "
                       f"{'yes' if t['tatoeba_ok'] else '**no**'}, query ≤ {fmt(cfg['query_ms_target'])} ms "
                       f"{'yes' if t['query_ms_ok'] else '**no**'}" for label, t in data["targets"].items())
    return "\n".join([
        f"Each backend through the product, one loaded at a time, same data, same run: XQuAD "
        f"({', '.join(cfg['xquad_languages'])}; the first {fmt(cfg['paragraphs_per_language'])} paragraphs, "
        f"{fmt(cfg['questions_per_language'])} questions per language) ingested with `SearchService.ingest` and "
        f"searched with a language filter (Recall@10 %); Tatoeba accuracy@1 (%, mean of both directions) over "
        f"{len(cfg['tatoeba_languages'])} languages, {fmt(cfg['tatoeba_pairs'])} pairs each, with "
        f"`encode_queries`; query embedding: {cfg['query_timing']}. Cosine: the same passages embedded by torch "
        "and by the backend.\n",
        table(["backend", "XQuAD en→X R@10", "X→en R@10", "cross-lingual R@10", "Δ vs torch", "Tatoeba acc",
               "Δ vs torch", "query p50 ms", "query p95 ms", "cosine to torch min", "cosine mean",
               "XQuAD ingest s"], rows),
        f"\nTargets (within {fmt(cfg['max_drop_points'])} points of torch fp32): {checks}.\n",
    ])


def render_latency(data: dict[str, Any]) -> str:
    """Latency per size and mode, recall against exact search, build costs, memory, cold start and disk."""
    cfg = data["config"]
    rows, builds = [], []
    for size, row in data["sizes"].items():
        if "skipped" in row:
            rows.append([f"{int(size):,}", "skipped", row["skipped"], "", "", "", "", ""])
            continue
        base = row["baseline"]["wall_ms"]["p50"]
        recall = row.get("recall_at_10", {})
        for mode, m in row["modes"].items():
            if "error" in m:
                rows.append([f"{int(size):,}", mode, "failed", m["error"][:160], "", "", "", ""])
                continue
            rows.append([f"{int(size):,}", mode, m["wall_ms"]["p50"], m["wall_ms"]["p95"],
                         m["service_elapsed_ms"]["p50"], m["wall_ms"]["n"], f"× {fmt(m['wall_ms']['p50'] / base, 1)}",
                         fmt(recall[mode], 3) if mode in recall else ""])
        bw = row["baseline"]["wall_ms"]
        rows.append([f"{int(size):,}", "baseline", base, bw["p95"], "", bw["n"], "× 1.0", ""])
        b, mem, cold = row["build"], row["memory"], row.get("cold_start", {})
        builds.append([f"{int(size):,}", _structure(row.get("structure", {})), b["write_s"], b["keyword_index_s"],
                       b["index_rebuild_s"], row["first_query_ms"], cold.get("model_load_s", ""),
                       cold.get("first_query_ms", ""), cold.get("second_query_ms", ""),
                       row.get("started", {}).get("warm_up_s", ""), row.get("started", {}).get("first_query_ms", ""),
                       mem["index_vectors_mb"],
                       mem["peak_rss_mb"], cold.get("peak_rss_mb", ""), row["disk_mb"]["sqlite"],
                       row["disk_mb"]["faiss"]])
    qb = data["query_batching"]
    return "\n".join([
        f"End-to-end `SearchService.search(query, k=10)` (query embedding, vector search, metadata fetch, result "
        f"shaping), wall-clock per call, {fmt(cfg.get('threads'))} thread(s) for the models and FAISS (0: all cores; "
        "the setting `threads`), real XQuAD questions "
        f"in 12 languages, {cfg['queries']} per size for plain search (fewer for the costlier modes, see n). Index "
        f"contents: {cfg['vectors']}; {cfg.get('texts', '')}; written in bulk through the store's session. The "
        "service runs in its own process (`bench.latency_worker`), which builds the vector index from the stored "
        "embeddings, as after an import; a second new process then opens the saved index (cold start: the models "
        "load, then the first query opens the index: an IVF file is mapped, and the query reads the lists it "
        "visits), and a third starts as the UI does (its background warm-up loads the models, the index and the "
        "language profiles and reads the index file ahead before the first query). The cold first query is "
        "faster when the index file is still in the OS page cache (here the build has just written it). Baseline: "
        f"{cfg['baseline']}, over the same vectors. \"service ms\" is the service's own `elapsed_ms`. Recall@10 is "
        "the share of an exact search's top 10 (same vectors, same filter) among the results. Modes are keyword "
        "options of `search`; the language filter asks for German; `rerank` scores up to `rerank_k` = "
        f"{fmt(cfg.get('rerank_k'))} candidates with the NLI model within `rerank_budget_ms` = "
        f"{fmt(cfg.get('rerank_budget_ms'))} ms.\n",
        table(["chunks", "mode", "p50 ms", "p95 ms", "service p50 ms", "n", "p50 vs baseline", "recall@10"], rows),
        "\nBuild, memory, cold start and disk (RSS: the service process's peak):\n",
        table(["chunks", "vector index", "bulk write s", "of which keyword index s", "index build s",
               "first query after build ms", "cold: model load s", "cold: first query ms", "cold: second query ms",
               "UI start: warm-up s", "UI start: first query ms", "vectors MB", "peak RSS MB (build + searches)",
               "peak RSS MB (cold start)", "SQLite MB", "FAISS MB"],
              builds),
        f"\nQuery embedding in one call: `encode_queries` on {qb['queries']} queries took "
        f"{fmt(qb['encode_queries_one_batch_s'], 2)} s in one batch against {fmt(qb['batches_of_32_s'], 2)} s in "
        f"batches of 32 (× {fmt(qb['slowdown'], 2)}).\n",
        _threads_line(data.get("threads")),
    ])


def _structure(facts: dict[str, Any]) -> str:
    structure = facts.get("structure") or {}
    if structure.get("type") in ("ivf-flat", "ivf-fp16"):
        vectors = "float32" if structure["type"] == "ivf-flat" else "float16"
        return f"IVF ({vectors}), {structure['nlist']:,} lists, {structure['nprobe']} probed"
    return structure.get("type", "")


def _threads_line(threads: dict[str, Any] | None) -> str:
    if not threads:
        return ""
    speeds = ", ".join(f"{n} thread(s): {fmt(v)} queries/s" for n, v in threads["queries_per_s_by_threads"].items())
    load = fmt(threads["load_average"], 2)
    return (f"\nTorch threads, same queries in batches of 32, 1-minute load average {load}: {speeds} (this run "
            f"used {threads['default_threads']}). On a shared machine, one OpenMP thread per core spins against the "
            "other jobs.\n")


SECTIONS: dict[str, tuple[str, Callable[[dict[str, Any]], str]]] = {
    "xquad": ("1. Cross-lingual retrieval (XQuAD)", render_xquad),
    "crosslang": ("1b. Cross-language lookup: balanced and hybrid search", render_crosslang),
    "tatoeba": ("2. Embedder check (Tatoeba)", render_tatoeba),
    "ingest": ("3. Ingest throughput", render_ingest),
    "backends": ("3b. Embedding backends: torch fp32, ONNX fp32, ONNX int8", render_backends),
    "latency": ("4. Query latency", render_latency),
}
