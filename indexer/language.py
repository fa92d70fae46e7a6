"""Language identification with lingua, returning ISO 639-1 codes."""

from __future__ import annotations

import logging
import time
from functools import cache

from lingua import IsoCode639_1, Language, LanguageDetector, LanguageDetectorBuilder

logger = logging.getLogger(__name__)

# Only the start of a long text is examined: a few sentences identify a language, and detection
# time grows with length.
SAMPLE_CHARS = 2000
# Fewer letters than this carry too little signal ("OK", "3.14 kg").
MIN_LETTERS = 3
# Return None rather than guess when the two best languages score this close (0..1).
MIN_RELATIVE_DISTANCE = 0.05
# A query of fewer words than this is short: the detector must be this confident (0..1) about it, or the
# caller decides another way (from the query's embedding).
SHORT_QUERY_WORDS = 4
SHORT_QUERY_CONFIDENCE = 0.9

# Lingua's names, where a reader expects another one.
_NAMES = {"nb": "Norwegian Bokmål", "nn": "Norwegian Nynorsk", "el": "Greek", "sl": "Slovenian", "lg": "Ganda"}


@cache
def _detector() -> LanguageDetector:
    # Low-accuracy mode over all 75 languages: built in ~0.2 s with ~80 MB of models, against
    # ~4-8 s and ~1.1 GB for high accuracy, which only helps texts under ~120 characters.
    started = time.perf_counter()
    detector = (
        LanguageDetectorBuilder.from_all_languages()
        .with_low_accuracy_mode()
        .with_minimum_relative_distance(MIN_RELATIVE_DISTANCE)
        .with_preloaded_language_models()
        .build()
    )
    logger.info("language detector ready in %.2f s", time.perf_counter() - started)
    return detector


def _sample(text: str) -> str | None:
    sample = text[:SAMPLE_CHARS]
    if sum(char.isalpha() for char in sample) < MIN_LETTERS:
        return None
    return sample


def _code(language: Language | None) -> str | None:
    return language.iso_code_639_1.name.lower() if language is not None else None


def detect_language(text: str) -> str | None:
    """Detect the language of a text from its first ``SAMPLE_CHARS`` characters.

    Texts of a sentence or more are reliable; a few words can be mistaken for a close language.

    Args:
        text: any text.

    Returns:
        The ISO 639-1 code ("en", "de", "zh", ...), or None when the text is too short or ambiguous.
    """
    sample = _sample(text)
    if sample is None:
        return None
    return _code(_detector().detect_language_of(sample))


def load_detector() -> None:
    """Build the language detector now (it is otherwise built by the first detection)."""
    _detector()


def detect_query_language(text: str) -> str | None:
    """Detect the language of a query, refusing to guess on a short one unless the detector is confident.

    One- to three-word queries ("Passau", "dam failure") are often mistaken for a close language; for them the
    detector's confidence must reach ``SHORT_QUERY_CONFIDENCE``.

    Args:
        text: the query.

    Returns:
        The ISO 639-1 code, or None when the query is too short or ambiguous to tell.
    """
    sample = _sample(text)
    if sample is None:
        return None
    if len(sample.split()) >= SHORT_QUERY_WORDS:
        return _code(_detector().detect_language_of(sample))
    confidences = _detector().compute_language_confidence_values(sample)
    if not confidences or confidences[0].value < SHORT_QUERY_CONFIDENCE:
        return None
    return _code(confidences[0].language)


def detect_languages(texts: list[str]) -> list[str | None]:
    """Detect the language of many texts, in parallel over the CPU cores.

    Args:
        texts: any texts.

    Returns:
        One ISO 639-1 code or None per text, in order.
    """
    samples = [_sample(text) for text in texts]
    todo = [sample for sample in samples if sample is not None]
    found = iter(_detector().detect_languages_in_parallel_of(todo) if todo else [])
    return [None if sample is None else _code(next(found)) for sample in samples]


def language_name(code: str) -> str:
    """The English name of a language, for display.

    Args:
        code: an ISO 639-1 code, any case.

    Returns:
        The name, e.g. "Russian" for "ru"; the code itself when it is not a known language.
    """
    code = code.strip().lower()
    if code in _NAMES:
        return _NAMES[code]
    try:
        language = Language.from_iso_code_639_1(IsoCode639_1.from_str(code))
    except (ValueError, KeyError):
        return code
    return language.name.title()
