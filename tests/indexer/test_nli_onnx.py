"""The built-in NLI model on ONNX Runtime: transformers' pair ids by tokenizers, batching."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from indexer.nli.base import length_batches
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
