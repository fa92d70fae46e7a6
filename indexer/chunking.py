"""Sentence-aware, token-bounded chunking of document text with overlap."""

from __future__ import annotations

import logging
import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from indexer.types import ChunkSpan

logger = logging.getLogger(__name__)

TokenSpans = Callable[[str], list[tuple[int, int]]]

# A sentence ends after a terminator plus closing quotes/brackets. Latin-style terminators need
# whitespace after them ("3.14", "e.g.x" stay whole); CJK, Devanagari danda, Arabic/Urdu marks do not.
# A run of terminators is tried once, from its start, without backtracking: otherwise a long run of dots
# not followed by a space is retried from every position (quadratic: 20,000 dots took 18 s).
_SENTENCE_END = re.compile(
    r"(?<![.!?…])[.!?…]++[\"'”’»)\]]*+(?=\s|$)"
    r"|[。！？｡︒﹒﹗﹖]+[」』”’）)】〕》\"']*"
    r"|[।॥؟۔]+"
    r"|\n[^\S\n]*\n"
)


@dataclass(frozen=True)
class _Piece:
    """A run of text [start, end) and the number of tokens starting inside it."""

    start: int
    end: int
    n_tokens: int


def chunk_text(text: str, token_spans: TokenSpans, max_tokens: int = 256, overlap_tokens: int = 32) -> list[ChunkSpan]:
    """Split a text into chunks of whole sentences, at most ``max_tokens`` tokens each.

    Sentences are packed greedily; consecutive chunks share trailing sentences worth up to
    ``overlap_tokens``. A sentence longer than ``max_tokens`` becomes its own chunks, cut at token
    boundaries with ``overlap_tokens`` shared. The text is tokenised once; a token belongs to the
    chunk holding its first character.

    Args:
        text: the document text.
        token_spans: returns the ``(start, end)`` character span of every model token of a string,
            without special tokens (a fast tokenizer's offset mapping).
        max_tokens: largest chunk, in tokens.
        overlap_tokens: tokens shared by consecutive chunks; smaller than ``max_tokens``.

    Returns:
        Chunks in text order with ``chunk.text == text[chunk.char_start:chunk.char_end]``, no
        whitespace at their edges, and together covering every non-whitespace character. Only a
        single character with more than ``max_tokens`` tokens (byte-level pieces of one glyph with a
        tiny ``max_tokens``) makes a chunk over the bound, as characters are never split.

    Raises:
        ValueError: if the arguments are out of range or ``token_spans`` returns offsets outside the text.
    """
    _validate(text, max_tokens, overlap_tokens)
    if not text.strip():
        return []
    starts = _token_starts(text, token_spans)
    pieces = [_Piece(a, b, _count(starts, a, b)) for a, b in _sentence_bounds(text)]
    chunks: list[ChunkSpan] = []
    for start, end in _pack(pieces, starts, max_tokens, overlap_tokens):
        chunk = _make_chunk(text, starts, start, end, len(chunks))
        if chunk is not None:
            chunks.append(chunk)
    logger.debug("%d chars, %d tokens, %d sentences -> %d chunks", len(text), len(starts), len(pieces), len(chunks))
    return chunks


def _validate(text: str, max_tokens: int, overlap_tokens: int) -> None:
    if not isinstance(text, str):
        raise ValueError(f"text must be a str, got {type(text).__name__}")
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
        raise ValueError(f"max_tokens must be a positive int, got {max_tokens!r}")
    if isinstance(overlap_tokens, bool) or not isinstance(overlap_tokens, int) or overlap_tokens < 0:
        raise ValueError(f"overlap_tokens must be an int >= 0, got {overlap_tokens!r}")
    if overlap_tokens >= max_tokens:
        raise ValueError(
            f"overlap_tokens ({overlap_tokens}) must be smaller than max_tokens ({max_tokens}); "
            f"e.g. overlap_tokens={max_tokens // 8}"
        )


def _token_starts(text: str, token_spans: TokenSpans) -> list[int]:
    # Sorted start offsets make "tokens in [a, b)" two binary searches; byte-level tokenizers may
    # give several tokens the same start, which counts each of them.
    starts = sorted(start for start, _ in token_spans(text))
    if starts and (starts[0] < 0 or starts[-1] > len(text)):
        raise ValueError(
            f"token_spans returned offsets outside the text (0..{len(text)}): {starts[0]}..{starts[-1]}; "
            "it must return character offsets into the string it is given"
        )
    return starts


def _count(starts: list[int], start: int, end: int) -> int:
    return bisect_left(starts, end) - bisect_left(starts, start)


def _sentence_bounds(text: str) -> Iterator[tuple[int, int]]:
    # Consecutive [start, end) runs covering the whole text; whitespace after a sentence stays with it.
    start = 0
    for match in _SENTENCE_END.finditer(text):
        end = match.end()
        while end < len(text) and text[end].isspace():
            end += 1
        if end > start:
            yield start, end
            start = end
    if start < len(text):
        yield start, len(text)


def _pack(pieces: list[_Piece], starts: list[int], max_tokens: int, overlap: int) -> Iterator[tuple[int, int]]:
    current: list[_Piece] = []
    total = 0
    for piece in pieces:
        if piece.n_tokens > max_tokens:
            # Too long to pack: emit what is pending, then the sentence in token windows.
            if current:
                yield current[0].start, current[-1].end
            current, total = [], 0
            yield from _windows(piece, starts, max_tokens, overlap)
            continue
        if current and total + piece.n_tokens > max_tokens:
            yield current[0].start, current[-1].end
            current = _carry(current, overlap, max_tokens - piece.n_tokens)
            total = sum(p.n_tokens for p in current)
        current.append(piece)
        total += piece.n_tokens
    if current:
        yield current[0].start, current[-1].end


def _carry(previous: list[_Piece], overlap: int, room: int) -> list[_Piece]:
    # Trailing sentences of the previous chunk worth at most `overlap` tokens, and leaving room for
    # the next sentence. Never all of them, so every chunk adds a new sentence.
    budget = min(overlap, room)
    carried: list[_Piece] = []
    used = 0
    for piece in reversed(previous[1:]):
        if used + piece.n_tokens > budget:
            break
        carried.insert(0, piece)
        used += piece.n_tokens
    return carried


def _windows(piece: _Piece, starts: list[int], max_tokens: int, overlap: int) -> Iterator[tuple[int, int]]:
    # Windows are cut at token starts, so characters no token covers (skipped by the tokenizer) still
    # land in a chunk, and consecutive windows touch or overlap, so nothing between them is lost.
    first = bisect_left(starts, piece.start)
    last = bisect_left(starts, piece.end)
    index = first
    while index + max_tokens < last:
        end = _window_end(starts, index, max_tokens)
        if end >= last:
            break
        yield (piece.start if index == first else starts[index]), starts[end]
        index = _next_window(starts, index, end, overlap)
    yield (piece.start if index == first else starts[index]), piece.end


def _window_end(starts: list[int], index: int, max_tokens: int) -> int:
    # Index of the first token after the window, moved back to the first token at its character so
    # that tokens sharing a character (byte-level pieces of one glyph) stay together.
    end = bisect_left(starts, starts[index + max_tokens], index, index + max_tokens)
    if end == index:
        # One character holds more than max_tokens tokens: it cannot be split, so take it whole.
        end = bisect_right(starts, starts[index])
    return end


def _next_window(starts: list[int], index: int, end: int, overlap: int) -> int:
    # Start the next window `overlap` tokens before this one ends, on a character boundary, and
    # always after this window's start so that every step makes progress.
    following = bisect_left(starts, starts[max(end - overlap, index)]) if overlap else end
    return following if following > index else bisect_right(starts, starts[index])


def _make_chunk(text: str, starts: list[int], start: int, end: int, ordinal: int) -> ChunkSpan | None:
    segment = text[start:end]
    stripped = segment.strip()
    if not stripped:
        return None
    char_start = start + (len(segment) - len(segment.lstrip()))
    char_end = char_start + len(stripped)
    return ChunkSpan(
        ordinal=ordinal,
        text=stripped,
        char_start=char_start,
        char_end=char_end,
        n_tokens=_count(starts, char_start, char_end),
    )
