"""Tests for sentence-aware, token-bounded chunking."""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable

import pytest

from indexer.chunking import chunk_text
from indexer.types import ChunkSpan

# Fake tokenizers returning character spans, like a fast tokenizer's offset mapping.
_CJK = r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\u0e00-\u0e7f]"
_WORDPIECE = re.compile(rf"{_CJK}|\w{{1,4}}|[^\w\s]")
_WORDS_ONLY = re.compile(rf"{_CJK}|\w{{1,4}}")


def wordpiece_spans(text: str) -> list[tuple[int, int]]:
    """Words cut into pieces of up to 4 characters, one token per CJK/Thai character and per punctuation mark."""
    return [m.span() for m in _WORDPIECE.finditer(text)]


def words_only_spans(text: str) -> list[tuple[int, int]]:
    """Like wordpiece_spans but skipping punctuation, so some characters belong to no token."""
    return [m.span() for m in _WORDS_ONLY.finditer(text)]


def byte_level_spans(text: str) -> list[tuple[int, int]]:
    """One token per UTF-8 byte of non-space characters; the bytes of one character share its span."""
    return [(i, i + 1) for i, char in enumerate(text) if not char.isspace() for _ in char.encode()]


TOKENIZERS = {"wordpiece": wordpiece_spans, "words_only": words_only_spans, "byte_level": byte_level_spans}

TEXTS = {
    "english": (
        "The committee met on Tuesday. It approved the budget! Did anyone object? Nobody did.\n\n"
        "A second paragraph follows, with a decimal 3.14 and an abbreviation e.g. here. "
    )
    * 6,
    "german": "Der Ausschuss tagte am Dienstag. Er genehmigte den Haushalt, und niemand widersprach. " * 8,
    "russian": "Комитет собрался во вторник. Он утвердил бюджет! Кто-нибудь возражал? Никто.\n" * 8,
    "chinese_no_spaces": "委员会星期二开会。它批准了预算！有人反对吗？没有人反对。" * 12,
    "chinese_no_punctuation": "委员会星期二开会它批准了预算有人反对吗没有人反对" * 20,
    "japanese": "委員会は火曜日に開かれました。予算が承認されました！反対した人はいますか？" * 8,
    "hindi": "समिति मंगलवार को मिली। उसने बजट को मंज़ूरी दी। किसी ने आपत्ति नहीं की। " * 8,
    "arabic": "اجتمعت اللجنة يوم الثلاثاء. هل اعترض أحد؟ لم يعترض أحد على الميزانية. " * 8,
    "thai_no_spaces": "คณะกรรมการประชุมวันอังคารและอนุมัติงบประมาณโดยไม่มีใครคัดค้าน" * 10,
    "huge_single_sentence": " ".join(f"word{i}" for i in range(1500)),
    "whitespace_mess": "  \n\n Lead spaces.   \t Tabs\tinside.\r\n\r\nCRLF text.\u3000Ideographic space。  \n\n\n",
    "emoji_and_marks": "Emoji 🙂🙂🙂 everywhere! Café naïve coöperate. 🎉🎉 " * 10,
}
LIMITS = [(16, 4), (32, 0), (64, 16), (7, 6)]


def assert_valid_chunks(text: str, chunks: list[ChunkSpan], spans: Callable, max_tokens: int) -> None:
    """The chunk contract: exact offsets, stripped edges, token bound, full coverage, ordinals in order.

    The one exception to the bound is a single character with more tokens than max_tokens.
    """
    starts = [start for start, _ in spans(text)]
    covered = [False] * len(text)
    for ordinal, chunk in enumerate(chunks):
        assert chunk.ordinal == ordinal
        assert chunk.text == text[chunk.char_start : chunk.char_end]
        assert chunk.text and chunk.text == chunk.text.strip()
        assert chunk.n_tokens == sum(chunk.char_start <= s < chunk.char_end for s in starts)
        assert chunk.n_tokens <= max_tokens or len(chunk.text) == 1
        covered[chunk.char_start : chunk.char_end] = [True] * (chunk.char_end - chunk.char_start)
    assert [c.char_start for c in chunks] == sorted(c.char_start for c in chunks)
    missing = [i for i, char in enumerate(text) if not char.isspace() and not covered[i]]
    assert not missing, f"uncovered characters at {missing[:10]}"


@pytest.mark.parametrize("tokenizer", TOKENIZERS.values(), ids=TOKENIZERS.keys())
@pytest.mark.parametrize("text", TEXTS.values(), ids=TEXTS.keys())
@pytest.mark.parametrize(("max_tokens", "overlap"), LIMITS)
def test_chunk_contract(text: str, tokenizer: Callable, max_tokens: int, overlap: int) -> None:
    chunks = chunk_text(text, tokenizer, max_tokens=max_tokens, overlap_tokens=overlap)
    assert chunks
    assert_valid_chunks(text, chunks, tokenizer, max_tokens)


@pytest.mark.parametrize("text", ["", " ", "\n\n\t ", "\u3000\u00a0"])
def test_blank_text_gives_no_chunks(text: str) -> None:
    assert chunk_text(text, wordpiece_spans) == []


def test_short_text_is_one_stripped_chunk() -> None:
    text = "\n  Just one tiny line.  \n"
    assert chunk_text(text, wordpiece_spans) == [
        ChunkSpan(ordinal=0, text="Just one tiny line.", char_start=3, char_end=22, n_tokens=5)
    ]


@pytest.mark.parametrize(
    ("text", "sentences"),
    [
        ("One. Two! Three? Four…", ["One.", "Two!", "Three?", "Four…"]),
        ('He said "stop." Then left.', ['He said "stop."', "Then left."]),
        ("Pi is 3.14 today. Yes.", ["Pi is 3.14 today.", "Yes."]),
        ("第一句。第二句！第三句？", ["第一句。", "第二句！", "第三句？"]),
        ("「引用です。」次の文。", ["「引用です。」", "次の文。"]),
        ("पहला वाक्य। दूसरा वाक्य।", ["पहला वाक्य।", "दूसरा वाक्य।"]),
        ("هل أنت بخير؟ نعم", ["هل أنت بخير؟", "نعم"]),
        (
            "no punctuation here\n\nnew paragraph\nsame paragraph",
            ["no punctuation here", "new paragraph\nsame paragraph"],
        ),
    ],
    ids=["latin", "quote", "decimal", "chinese", "japanese_quote", "hindi", "arabic", "paragraph"],
)
def test_sentence_boundaries(text: str, sentences: list[str]) -> None:
    # With room for one sentence per chunk and no overlap, chunks are exactly the sentences.
    longest = max(len(wordpiece_spans(s)) for s in sentences)
    chunks = chunk_text(text, wordpiece_spans, max_tokens=longest, overlap_tokens=0)
    assert [c.text for c in chunks] == sentences


def test_packs_whole_sentences_up_to_the_limit() -> None:
    text = " ".join(f"Item {i} is ok." for i in range(20))  # 5 tokens each
    chunks = chunk_text(text, wordpiece_spans, max_tokens=12, overlap_tokens=0)
    assert all(c.text.startswith("Item") and c.text.endswith("ok.") for c in chunks)
    assert [c.n_tokens for c in chunks] == [10] * 10


def test_overlap_carries_trailing_sentences() -> None:
    text = " ".join(f"Item {i}." for i in range(12))  # 3 tokens each
    chunks = chunk_text(text, wordpiece_spans, max_tokens=9, overlap_tokens=3)
    assert [c.text for c in chunks] == [
        "Item 0. Item 1. Item 2.",
        "Item 2. Item 3. Item 4.",
        "Item 4. Item 5. Item 6.",
        "Item 6. Item 7. Item 8.",
        "Item 8. Item 9. Item 10.",
        "Item 10. Item 11.",
    ]


def test_no_overlap_means_disjoint_chunks() -> None:
    text = " ".join(f"Item {i}." for i in range(12))
    chunks = chunk_text(text, wordpiece_spans, max_tokens=9, overlap_tokens=0)
    assert all(a.char_end <= b.char_start for a, b in zip(chunks, chunks[1:], strict=False))


def test_long_sentence_windows_share_overlap_tokens() -> None:
    text = "Intro sentence. " + " ".join(f"w{i}" for i in range(100)) + ". Outro sentence."
    chunks = chunk_text(text, wordpiece_spans, max_tokens=20, overlap_tokens=5)
    assert chunks[0].text == "Intro sentence."
    assert chunks[-1].text == "Outro sentence."
    windows = chunks[1:-1]
    assert [c.n_tokens for c in windows[:-1]] == [20] * (len(windows) - 1)
    for a, b in zip(windows, windows[1:], strict=False):
        shared = text[b.char_start : a.char_end]
        assert len(wordpiece_spans(shared)) == 5


def test_tokenizes_the_text_once() -> None:
    calls: list[str] = []

    def counting_spans(text: str) -> list[tuple[int, int]]:
        calls.append(text)
        return wordpiece_spans(text)

    text = TEXTS["english"]
    chunk_text(text, counting_spans, max_tokens=16, overlap_tokens=4)
    assert calls == [text]


def test_many_tokens_on_one_character_stay_together() -> None:
    # Four byte-level tokens for one emoji cannot be split below one character.
    chunks = chunk_text("🙂🙂🙂", byte_level_spans, max_tokens=6, overlap_tokens=2)
    assert [c.text for c in chunks] == ["🙂", "🙂", "🙂"]
    assert_valid_chunks("🙂🙂🙂", chunks, byte_level_spans, 6)


@pytest.mark.parametrize(
    ("max_tokens", "overlap", "match"),
    [
        (0, 0, "max_tokens must be a positive int"),
        (-5, 0, "max_tokens must be a positive int"),
        (2.5, 0, "max_tokens must be a positive int"),
        (True, 0, "max_tokens must be a positive int"),
        (10, -1, "overlap_tokens must be an int >= 0"),
        (10, None, "overlap_tokens must be an int >= 0"),
        (10, 10, r"overlap_tokens \(10\) must be smaller than max_tokens \(10\)"),
        (256, 300, r"e\.g\. overlap_tokens=32"),
    ],
)
def test_invalid_arguments(max_tokens: object, overlap: object, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        chunk_text("Some text.", wordpiece_spans, max_tokens=max_tokens, overlap_tokens=overlap)  # type: ignore[arg-type]


def test_text_must_be_str() -> None:
    with pytest.raises(ValueError, match="text must be a str, got bytes"):
        chunk_text(b"bytes", wordpiece_spans)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad_spans", [[(-1, 2)], [(0, 3), (50, 51)]], ids=["negative", "past_end"])
def test_token_offsets_outside_text_are_rejected(bad_spans: list[tuple[int, int]]) -> None:
    with pytest.raises(ValueError, match="token_spans returned offsets outside the text"):
        chunk_text("Short text.", lambda _: bad_spans)


def test_large_text_is_fast_enough() -> None:
    # ~0.5 MB of text chunks in well under a second with a regex tokenizer (tokenised once, binary searches).
    text = TEXTS["english"] * 300
    started = time.perf_counter()
    chunks = chunk_text(text, wordpiece_spans, max_tokens=256, overlap_tokens=32)
    assert time.perf_counter() - started < 5
    assert_valid_chunks(text, chunks, wordpiece_spans, 256)


_ALPHABET = list("abcdefghij  \n\t.!?。！？।؟,中文字🙂é") + ["\n\n", ". ", "word ", "长长长长"]


@pytest.mark.parametrize("seed", range(60))
def test_random_texts_keep_the_contract(seed: int) -> None:
    rng = random.Random(seed)
    text = "".join(rng.choice(_ALPHABET) for _ in range(rng.randint(0, 400)))
    max_tokens = rng.randint(1, 40)
    overlap = rng.randint(0, max_tokens - 1)
    for tokenizer in TOKENIZERS.values():
        chunks = chunk_text(text, tokenizer, max_tokens=max_tokens, overlap_tokens=overlap)
        assert_valid_chunks(text, chunks, tokenizer, max_tokens)
