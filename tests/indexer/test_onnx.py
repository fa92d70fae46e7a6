"""ONNX Runtime backend: export once and atomically, int8 schemes per CPU, parity with torch, settings, mismatch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from indexer.config import load_settings
from indexer.embedder import Embedder, load_embedder
from indexer.embedder_onnx import OnnxEmbedder
from indexer.errors import ModelMismatchError
from indexer.onnx import cpu_int8_flags, ensure_onnx_model, int8_scheme_for_cpu, make_session, quantize_int8
from indexer.onnx import export as onnx_export

PROMPTS = {"query": "query: ", "document": "passage: "}
#: Lowest int8-vs-torch cosine allowed on SENTENCES (measured: see the test using it).
INT8_MIN_COS = 0.99
#: Largest change of a pairwise cosine between SENTENCES, int8 against torch (measured: see the test using it).
INT8_MAX_DRIFT = 0.04
#: Sentences in several scripts (Latin, Cyrillic, Han, Arabic, Devanagari, Thai), one with combining marks.
SENTENCES = [
    "The committee approved the budget for next year.",
    "Der Ausschuss hat den Haushalt für das nächste Jahr gebilligt.",
    "Комитет утвердил бюджет на следующий год.",
    "委员会批准了明年的预算。",
    "وافقت اللجنة على ميزانية العام المقبل.",
    "समिति ने अगले साल के बजट को मंज़ूरी दी।",
    "คณะกรรมการอนุมัติงบประมาณสำหรับปีหน้า",
    "Le comite\u0301 a approuvé le budget de l'année prochaine.",
]


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(axis=1)


@pytest.fixture(scope="module")
def tiny_onnx_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model cache of its own, so the tiny model's export is done once for this module."""
    return tmp_path_factory.mktemp("onnx-cache")


# --- settings and CPU checks ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("var", "value", "match"),
    [
        ("BABELSEARCH_EMBED_BACKEND", "gpu", "embed_backend='gpu': choose one of auto, onnx, torch"),
        ("BABELSEARCH_EMBED_QUANT", "int4", "embed_quant='int4': choose one of int8, fp32"),
        ("BABELSEARCH_THREADS", "-1", "threads=-1"),
    ],
)
def test_invalid_settings_name_the_choices(tmp_path: Path, var: str, value: str, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        load_settings(str(tmp_path), environ={var: value})


def test_default_settings_pick_onnx_int8(tmp_path: Path) -> None:
    settings = load_settings(str(tmp_path), environ={})
    assert (settings.embed_backend, settings.embed_quant) == ("auto", "int8")


def test_load_embedder_rejects_unknown_backend(tiny_model_dir: Path) -> None:
    with pytest.raises(ValueError, match="choose one of auto, onnx, torch"):
        load_embedder(str(tiny_model_dir), PROMPTS, tiny_model_dir, backend="tensorrt")
    with pytest.raises(ValueError, match="choose one of int8, fp32"):
        load_embedder(str(tiny_model_dir), PROMPTS, tiny_model_dir, quant="fp16")


@pytest.mark.parametrize(
    ("flags", "machine", "scheme"),
    [
        ("fpu sse2 avx avx2 fma", "x86_64", "s8-reduce-range"),  # AVX2 only: 7-bit weights, no saturation
        # VNNI: no saturation, yet 7-bit weights measured more accurate (indexer.onnx.cpu).
        ("fpu avx2 avx512f avx512bw avx512_vnni", "x86_64", "s8-reduce-range"),
        ("fpu avx2 avx_vnni", "x86_64", "s8-reduce-range"),
        ("fp asimd asimddp", "aarch64", "s8"),
    ],
)
def test_int8_scheme_follows_cpu_flags(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, flags: str, machine: str, scheme: str
) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(f"processor\t: 0\nflags\t\t: {flags}\n\nprocessor\t: 1\nflags\t\t: {flags}\n")
    monkeypatch.setattr("platform.machine", lambda: machine)
    found = cpu_int8_flags(cpuinfo)
    assert found["avx2"] == ("avx2" in flags.split())
    assert int8_scheme_for_cpu(found) == scheme


def test_this_machine_flags_are_read() -> None:
    flags = cpu_int8_flags()
    assert set(flags) >= {"avx2", "avx512_vnni", "vnni", "x86_64"}
    if Path("/proc/cpuinfo").is_file() and "avx2" in Path("/proc/cpuinfo").read_text():
        assert flags["avx2"]


def test_make_session_threads(tiny_model_dir: Path, tiny_onnx_cache: Path) -> None:
    model = ensure_onnx_model(tiny_model_dir, tiny_onnx_cache, "fp32")
    assert make_session(model.path, threads=1).get_session_options().intra_op_num_threads == 1
    from indexer.onnx.session import usable_cores

    assert make_session(model.path, threads=0).get_session_options().intra_op_num_threads == usable_cores()
    with pytest.raises(ValueError, match="threads must be 0"):
        make_session(model.path, threads=-2)


# --- export and quantisation ----------------------------------------------------------------------


@pytest.fixture
def own_model_dir(tiny_model_dir: Path, tmp_path: Path) -> Path:
    """A copy of the tiny model in this test's folder, so that its export is this test's own."""
    import shutil

    return Path(shutil.copytree(tiny_model_dir, tmp_path / "model"))


def test_export_is_cached_and_atomic(own_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = ensure_onnx_model(own_model_dir, tmp_path / "unused-cache", "fp32")
    # Beside the model it came from (the cache is used only when that folder is not writable).
    assert first.path.is_file() and first.path.parent.parent == tmp_path
    assert first.info["max_abs_diff_vs_torch"] < 1e-4
    assert not [p for p in first.path.parent.iterdir() if ".tmp-" in p.name]

    def no_export(*args: object, **kwargs: object) -> None:
        raise AssertionError("exported again")

    monkeypatch.setattr(onnx_export, "export_encoder", no_export)
    again = ensure_onnx_model(own_model_dir, tmp_path / "unused-cache", "fp32")
    assert (again.path, again.sha256) == (first.path, first.sha256)
    # int8 reuses the fp32 export: only the quantisation runs.
    int8 = ensure_onnx_model(own_model_dir, tmp_path / "unused-cache", "int8", "s8-reduce-range")
    assert int8.path.name == "model.int8-s8-reduce-range.onnx" and int8.info["from_sha256"] == first.sha256


def _op_counts(path: Path) -> dict[str, int]:
    import collections

    import onnx

    return dict(collections.Counter(node.op_type for node in onnx.load(str(path)).graph.node))


def test_export_fuses_only_the_faster_kernels_and_int8_quantises_every_weight(
    tiny_model_dir: Path, tiny_onnx_cache: Path
) -> None:
    fp32 = ensure_onnx_model(tiny_model_dir, tiny_onnx_cache, "fp32")
    # GELU is fused (the sidecar says so); attention and the LayerNorms (the embeddings' and two a layer)
    # stay plain operators, which run faster on the CPU than ONNX Runtime's fused ones.
    counts = _op_counts(fp32.path)
    assert fp32.info["fused"].get("Gelu") == 2 and counts.get("Gelu") == 2 and counts.get("LayerNormalization") == 5
    assert not {"Attention", "SkipLayerNormalization", "BiasGelu", "EmbedLayerNormalization"} & set(counts)
    int8 = ensure_onnx_model(tiny_model_dir, tiny_onnx_cache, "int8", "s8")
    counts = _op_counts(int8.path)
    # Six weight products a layer (query, key, value, output, two feed-forward): all int8.
    assert counts.get("MatMulInteger", 0) == 12 and "QAttention" not in counts


def test_fusion_is_kept_only_when_it_agrees_with_torch(
    tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from indexer.onnx import fuse, fuse_checked

    # The product's own export with its fusion step left out: the plain graph.
    monkeypatch.setattr(onnx_export, "fuse_checked", lambda path, *args: ({}, 0.0))
    plain = tmp_path / "plain.onnx"
    onnx_export.export_encoder(tiny_model_dir, plain)
    monkeypatch.undo()
    before = plain.read_bytes()
    assert "Gelu" not in _op_counts(plain) and "Erf" in _op_counts(plain)
    # A fused graph that disagrees with torch is dropped: the plain graph stays, and no temp file is left.
    assert fuse_checked(plain, 2, 32, lambda path: 1.0, 1e-3) == ({}, 1.0)
    assert plain.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["plain.onnx"]

    def broken(*args: object) -> dict[str, int]:
        raise ValueError("pattern not understood")

    monkeypatch.setattr(fuse, "fuse_bert", broken)
    assert fuse_checked(plain, 2, 32, lambda path: 0.0, 1e-3) == ({}, 0.0)
    assert plain.read_bytes() == before
    monkeypatch.undo()
    assert fuse_checked(plain, 2, 32, lambda path: 0.0, 1e-3)[0]["Gelu"] == 2
    assert _op_counts(plain).get("Gelu") == 2 and [p.name for p in tmp_path.iterdir()] == ["plain.onnx"]


def test_failed_export_leaves_nothing(own_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    def crash(model: object, args: object, f: str, **kwargs: object) -> None:
        Path(f).write_bytes(b"half a model")
        raise RuntimeError("killed mid-export")

    monkeypatch.setattr(torch.onnx, "export", crash)
    with pytest.raises(RuntimeError, match="killed mid-export"):
        ensure_onnx_model(own_model_dir, tmp_path, "fp32")
    folder = onnx_export.onnx_dir(own_model_dir, tmp_path)
    assert sorted(p.name for p in folder.iterdir()) == [".lock"]


def test_rebuilt_source_gets_a_new_export(own_model_dir: Path, tmp_path: Path) -> None:
    before = onnx_export.onnx_dir(own_model_dir, tmp_path / "cache")
    weights = own_model_dir / "model.safetensors"
    weights.write_bytes(weights.read_bytes())  # same bytes, new mtime: a rebuild
    assert onnx_export.onnx_dir(own_model_dir, tmp_path / "cache") != before


def test_read_only_model_folder_exports_into_the_cache(
    own_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(onnx_export.os, "access", lambda path, mode: False)
    assert onnx_export.onnx_dir(own_model_dir, tmp_path / "cache").parent == tmp_path / "cache"


def test_quantize_rejects_unknown_scheme(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="choose one of s8, s8-reduce-range, u8"):
        quantize_int8(tmp_path / "a.onnx", tmp_path / "b.onnx", scheme="s4")


# --- parity and fingerprints (tiny model: runs everywhere) ------------------------------------------


def test_tiny_onnx_matches_torch(tiny_model_dir: Path, tiny_embedder: Embedder, tiny_onnx_cache: Path) -> None:
    onnx = OnnxEmbedder(str(tiny_model_dir), PROMPTS, tiny_onnx_cache, quant="fp32", threads=1)
    assert (onnx.dim, onnx.max_tokens) == (tiny_embedder.dim, tiny_embedder.max_tokens)
    assert _cosines(onnx.encode_documents(SENTENCES), tiny_embedder.encode_documents(SENTENCES)).min() > 0.9999
    assert _cosines(onnx.encode_queries(SENTENCES), tiny_embedder.encode_queries(SENTENCES)).min() > 0.9999
    assert onnx.count_tokens(SENTENCES).tolist() == tiny_embedder.count_tokens(SENTENCES).tolist()


def test_fingerprint_covers_backend_and_quant(
    tiny_model_dir: Path, tiny_embedder: Embedder, tiny_onnx_cache: Path
) -> None:
    fp32 = OnnxEmbedder(str(tiny_model_dir), PROMPTS, tiny_onnx_cache, quant="fp32")
    int8 = OnnxEmbedder(str(tiny_model_dir), PROMPTS, tiny_onnx_cache, quant="int8", scheme="s8-reduce-range")
    int8_full = OnnxEmbedder(str(tiny_model_dir), PROMPTS, tiny_onnx_cache, quant="int8", scheme="s8")
    prints = {e.fingerprint for e in (tiny_embedder, fp32, int8, int8_full)}
    assert len(prints) == 4
    assert int8.backend_label == "onnx int8 (s8-reduce-range)"
    assert OnnxEmbedder(str(tiny_model_dir), PROMPTS, tiny_onnx_cache, quant="fp32").fingerprint == fp32.fingerprint


def test_index_refuses_another_backend(
    tiny_settings, tiny_model_dir: Path, tiny_embedder: Embedder, tiny_onnx_cache: Path, tmp_path: Path
) -> None:
    from app.service import SearchService

    (tmp_path / "doc.txt").write_text("Budget approved by the committee. " * 5, encoding="utf-8")
    service = SearchService(tiny_settings, tiny_embedder)
    assert service.ingest([tmp_path / "doc.txt"], "c").n_chunks > 0
    service.close()
    onnx = OnnxEmbedder(str(tiny_model_dir), PROMPTS, tiny_onnx_cache, quant="int8")
    service = SearchService(tiny_settings, onnx)
    with pytest.raises(
        ModelMismatchError,
        match=r"embedded with torch fp32.*BABELSEARCH_EMBED_BACKEND=torch"
        r".*reindex --reembed",
    ):
        service.search("budget")
    assert service.reindex(reembed=True) > 0
    assert service.search("budget").results
    service.close()
    service = SearchService(tiny_settings, tiny_embedder)
    with pytest.raises(ModelMismatchError, match=r"BABELSEARCH_EMBED_BACKEND=onnx BABELSEARCH_EMBED_QUANT=int8"):
        service.search("budget")
    service.close()


def test_auto_uses_onnx(tiny_model_dir: Path, tiny_onnx_cache: Path) -> None:
    emb = load_embedder(str(tiny_model_dir), PROMPTS, tiny_onnx_cache, backend="auto", quant="fp32")
    assert isinstance(emb, OnnxEmbedder) and emb.backend_label == "onnx fp32"
    assert load_embedder(str(tiny_model_dir), PROMPTS, tiny_onnx_cache, backend="torch").backend == "torch"


# --- the real model -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_onnx(real_model_dir: Path) -> dict[str, OnnxEmbedder]:
    """fp32 and int8 ONNX embedders over the real offline model (exported into the cache once)."""
    return {q: OnnxEmbedder(str(real_model_dir), PROMPTS, real_model_dir.parent, quant=q) for q in ("fp32", "int8")}


@pytest.mark.model
def test_real_onnx_fp32_matches_torch(real_embedder: Embedder, real_onnx: dict[str, OnnxEmbedder]) -> None:
    for encode in ("encode_queries", "encode_documents"):
        mine, torch = getattr(real_onnx["fp32"], encode)(SENTENCES), getattr(real_embedder, encode)(SENTENCES)
        assert _cosines(mine, torch).min() > 0.999, encode


@pytest.mark.model
def test_real_onnx_int8_close_to_torch(real_embedder: Embedder, real_onnx: dict[str, OnnxEmbedder]) -> None:
    # Measured here (AVX2, s8-reduce-range): min cosine 0.995, similarity drift 0.022 (corpus: BENCHMARKS.md 3b).
    int8 = real_onnx["int8"]
    cosines = _cosines(int8.encode_documents(SENTENCES), real_embedder.encode_documents(SENTENCES))
    print("int8 vs torch cosines", np.round(cosines, 4))
    assert cosines.min() > INT8_MIN_COS
    # The translations' similarities, which retrieval ranks by, move by little.
    mine, torch = int8.encode_queries(SENTENCES), real_embedder.encode_queries(SENTENCES)
    drift = np.abs(mine @ mine.T - torch @ torch.T).max()
    print("int8 similarity drift", round(float(drift), 4))
    assert drift < INT8_MAX_DRIFT


#: Texts where tokenizers can disagree: runs of spaces, tabs and newlines, zero-width and emoji, a very long text.
TRICKY = ["  two  spaces   here ", "tab\tand\nnewline", "a\u200bb", "😀 emoji ☃", "Ünïcödé façade", "word " * 700, ""]


@pytest.mark.model
def test_real_onnx_tokenizes_as_torch_does(real_embedder: Embedder, real_onnx: dict[str, OnnxEmbedder]) -> None:
    # The ONNX embedder runs transformers' tokenizer saved once, without transformers: ids, cuts, counts, spans.
    onnx, torch_tok = real_onnx["int8"], real_embedder.tokenizer
    texts = [p + t for p in ("query: ", "passage: ") for t in SENTENCES + TRICKY]
    ids, mask = onnx.tokenizer.batch(texts, onnx.max_tokens)
    want = torch_tok(texts, padding=True, truncation=True, max_length=real_embedder.max_tokens, return_tensors="np")
    np.testing.assert_array_equal(ids, want["input_ids"])
    np.testing.assert_array_equal(mask, want["attention_mask"])
    assert onnx.count_tokens(SENTENCES + TRICKY, "passage: ").tolist() == \
        real_embedder.count_tokens(SENTENCES + TRICKY, "passage: ").tolist()
    for text in SENTENCES + TRICKY:
        assert onnx.token_spans(text) == real_embedder.token_spans(text)


@pytest.mark.model
def test_real_onnx_embedder_starts_without_torch(real_model_dir: Path, real_onnx: dict[str, OnnxEmbedder]) -> None:
    # Once exported, a new process loads the ONNX embedder and embeds without importing torch or transformers.
    import subprocess
    import sys

    code = ("import sys; from pathlib import Path; from indexer.embedder_onnx import OnnxEmbedder; "
            f"e = OnnxEmbedder({str(real_model_dir)!r}, {PROMPTS!r}, Path({str(real_model_dir.parent)!r})); "
            "assert e.encode_queries(['hello']).shape == (1, 384); "
            "print(sorted(m for m in ('torch', 'transformers', 'sentence_transformers') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]"


def test_int8_weights_can_live_beside_the_graph(tiny_model_dir: Path, tiny_onnx_cache: Path, tmp_path: Path) -> None:
    # The NLI graph keeps its weights in a mapped file: the same model, a graph file of a few kilobytes.
    fp32 = ensure_onnx_model(tiny_model_dir, tiny_onnx_cache, "fp32").path
    inline = quantize_int8(fp32, tmp_path / "inline.onnx")
    mapped = quantize_int8(fp32, tmp_path / "mapped.onnx", external_data=True)
    data = tmp_path / "mapped.onnx.data"
    assert data.stat().st_size > 10 * mapped.stat().st_size
    assert sorted(p.name for p in tmp_path.iterdir()) == ["inline.onnx", "mapped.onnx", "mapped.onnx.data"]
    ids = np.array([[0, 5, 6, 7, 2]], dtype=np.int64)
    feed = {"input_ids": ids, "attention_mask": np.ones_like(ids)}
    a, b = (make_session(p, threads=1) for p in (inline, mapped))
    names = {i.name for i in a.get_inputs()}
    feed = {k: v for k, v in feed.items() if k in names} | ({"token_type_ids": np.zeros_like(ids)}
                                                             if "token_type_ids" in names else {})
    np.testing.assert_array_equal(a.run(None, feed)[0], b.run(None, feed)[0])
