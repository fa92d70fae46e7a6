"""The built-in NLI model on ONNX Runtime: transformers' pair ids by tokenizers, a torch-free start, its cache."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from indexer.nli import BUILTIN, load_nli
from indexer.nli.base import length_batches
from indexer.nli.onnx_nli import OnnxCrossEncoderNli, nli_onnx_dir
from indexer.nli.shipped import CONFIG_FILE, WEIGHTS_DIR, WEIGHTS_FILE
from indexer.onnx.tokenizer import PairTokenizer, pad_rows

LONG_DE = "Der Ausschuss hat nach langer Beratung den Haushalt für das nächste Jahr gebilligt. " * 40
LONG_ZH = "委员会经过长时间讨论后批准了明年的预算，并要求各部门提交详细的支出计划。" * 30
#: (premise, hypothesis) pairs in several scripts: short, one side or both long enough to be cut, and near-empty.
PAIRS = [
    ("The committee approved the budget for next year.", "The budget was approved."),
    ("Комитет утвердил бюджет на следующий год.", "委员会批准了预算。"),
    ("وافقت اللجنة على ميزانية العام المقبل.", "समिति ने बजट को मंज़ूरी दी।"),
    ("คณะกรรมการอนุมัติงบประมาณสำหรับปีหน้า", "Le comite\u0301 a approuvé le budget."),
    (LONG_DE, "The budget was approved."),
    ("Kurz.", LONG_ZH),
    (LONG_DE, LONG_ZH),
    (LONG_ZH + LONG_DE, "Der Haushalt wurde " * 50),
    ("", "The budget was approved."),
    ("The committee met.", ""),
    ("", ""),
    ("   ", "\t\n"),
    ("😀 emoji ☃  two  spaces", "a\u200bb Ünïcödé façade"),
]


def test_pad_rows_and_length_batches() -> None:
    ids, mask = pad_rows([[5, 6, 7], [8]], pad_id=1)
    assert ids.tolist() == [[5, 6, 7], [8, 1, 1]] and mask.tolist() == [[1, 1, 1], [1, 0, 0]]
    assert ids.dtype == mask.dtype == np.int64
    # Longest first, at most 2 per batch, and no more than 8 padded tokens: the 5-token row goes alone.
    assert [b.tolist() for b in length_batches([2, 5, 3, 3], 8, 2)] == [[1], [2, 3], [0]]


def test_cache_folder_follows_the_weights_and_the_graph_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old, new = tmp_path / "old.safetensors", tmp_path / "new.safetensors"
    old.write_bytes(b"weights")
    new.write_bytes(b"retrained weights")
    folder = nli_onnx_dir(old, tmp_path / "cache")
    assert folder.parent == tmp_path / "cache" / "nli-onnx"
    assert nli_onnx_dir(new, tmp_path / "cache") != folder
    monkeypatch.setattr("indexer.onnx.GRAPH_VERSION", 999)
    assert nli_onnx_dir(old, tmp_path / "cache").name.endswith("-graph999")


@pytest.fixture(scope="module")
def onnx_nli(real_model_dir: Path) -> OnnxCrossEncoderNli:
    """The shipped NLI model on ONNX Runtime (int8, one thread), its files exported into the model cache once."""
    return load_nli(BUILTIN, real_model_dir.parent, backend="onnx", quant="int8", threads=1)


@pytest.fixture(scope="module")
def hf_tokenizer(real_model_dir: Path):
    """transformers' tokenizer of the base model: what the torch model tokenises with."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(real_model_dir))


@pytest.mark.model
@pytest.mark.parametrize("max_length", [384, 17, 16])
def test_pair_tokenizer_gives_transformers_ids(
    real_model_dir: Path, hf_tokenizer, tmp_path: Path, max_length: int
) -> None:
    # Saved here from the real model, then run by the tokenizers library alone: the same ids, cuts included.
    pairs = PairTokenizer(real_model_dir, tmp_path, max_length)
    premises, hypotheses = [p for p, _ in PAIRS], [h for _, h in PAIRS]
    want = hf_tokenizer(premises, hypotheses, truncation="longest_first", max_length=max_length)["input_ids"]
    got = pairs.pairs(premises, hypotheses)
    assert got == want
    assert max(len(ids) for ids in got) == max_length, "some pairs must have been cut"
    assert got[0][:1] == [0] and got[0].count(2) == 3, "<s> a </s></s> b </s>"
    assert pairs.pad_id == hf_tokenizer.pad_token_id


class _TransformersPairs:
    """The pair ids of transformers' tokenizer behind :class:`PairTokenizer`'s interface (the reference path)."""

    def __init__(self, hf, max_length: int):
        self.hf, self.max_length, self.pad_id = hf, max_length, hf.pad_token_id

    def pairs(self, firsts: list[str], seconds: list[str]) -> list[list[int]]:
        return self.hf(firsts, seconds, truncation="longest_first", max_length=self.max_length)["input_ids"]


@pytest.mark.model
def test_onnx_nli_starts_without_torch(real_model_dir: Path, onnx_nli: OnnxCrossEncoderNli, hf_tokenizer) -> None:
    # From the cache the fixture prepared, a new process loads and predicts without torch or transformers...
    premises, hypotheses = [p for p, _ in PAIRS], [h for _, h in PAIRS]
    code = (
        "import json, sys; from pathlib import Path; from indexer.nli import BUILTIN, load_nli; "
        f"nli = load_nli(BUILTIN, Path({str(real_model_dir.parent)!r}), backend='onnx', quant='int8', threads=1); "
        f"probs = nli.predict({premises!r}, {hypotheses!r}); "
        "loaded = [m for m in ('torch', 'transformers') if m in sys.modules]; "
        "print(json.dumps({'probs': probs.tolist(), 'loaded': loaded}))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    child = json.loads(done.stdout.strip().splitlines()[-1])
    assert child["loaded"] == []
    # ...and gives what the same graph gives on transformers' ids.
    tokenizer, onnx_nli.tokenizer = onnx_nli.tokenizer, _TransformersPairs(hf_tokenizer, onnx_nli.max_length)
    try:
        reference = onnx_nli.predict(premises, hypotheses)
    finally:
        onnx_nli.tokenizer = tokenizer
    np.testing.assert_allclose(np.array(child["probs"]), reference, atol=1e-5)


@pytest.mark.model
def test_calibration_is_read_at_each_load(real_model_dir: Path, onnx_nli: OnnxCrossEncoderNli, tmp_path: Path) -> None:
    # Recalibrated weights keep their digest, hence their cached graph; the new config still applies.
    weights = shutil.copytree(WEIGHTS_DIR, tmp_path / "weights")
    config = json.loads((weights / CONFIG_FILE).read_text(encoding="utf-8"))
    changed = {"temperature": 2.5, "badge_threshold": 0.9, "predict_max_length": 64}
    (weights / CONFIG_FILE).write_text(json.dumps(config | changed), encoding="utf-8")
    nli = load_nli(BUILTIN, real_model_dir.parent, backend="onnx", quant="int8", weights_dir=weights, threads=1)
    assert nli.path == onnx_nli.path and nli_onnx_dir(weights / WEIGHTS_FILE, real_model_dir.parent) == nli.path.parent
    assert (nli.temperature, nli.badge_threshold, nli.max_length) == (2.5, 0.9, 64)
    assert max(len(ids) for ids in nli.tokenizer.pairs([LONG_DE], [LONG_ZH])) == 64
