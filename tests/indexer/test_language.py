"""Tests for language detection and language names."""

from __future__ import annotations

import pytest

from indexer.language import SAMPLE_CHARS, detect_language, detect_languages, detect_query_language, language_name

SAMPLES = {
    "en": "The library opens at nine every morning, and the reading room fills up quickly before lunch.",
    "de": "Die Bibliothek öffnet jeden Morgen um neun Uhr, und der Lesesaal ist schon vor dem Mittag voll.",
    "fr": "La bibliothèque ouvre tous les matins à neuf heures et la salle de lecture se remplit avant midi.",
    "es": "La biblioteca abre todas las mañanas a las nueve y la sala de lectura se llena antes del almuerzo.",
    "it": "La biblioteca apre ogni mattina alle nove e la sala di lettura si riempie prima di pranzo.",
    "pt": "A biblioteca abre todas as manhãs às nove horas e a sala de leitura fica cheia antes do almoço.",
    "ru": "Библиотека открывается каждое утро в девять часов, и читальный зал заполняется ещё до обеда.",
    # One sentence of Ukrainian is scored as Kazakh by lingua (in both accuracy modes); two are enough.
    "uk": "Бібліотека відчиняється щоранку о дев'ятій годині, і читальна зала заповнюється ще до обіду. "
    "Студенти приходять сюди готуватися до іспитів, а викладачі шукають старі журнали в архіві.",
    "zh": "图书馆每天早上九点开门，阅览室在午饭之前就已经坐满了读者。",
    "ja": "図書館は毎朝九時に開館し、閲覧室はお昼前にはもう満席になってしまいます。",
    "ko": "도서관은 매일 아침 아홉 시에 문을 열고 열람실은 점심 전에 이미 가득 찹니다.",
    "ar": "تفتح المكتبة أبوابها كل صباح في الساعة التاسعة، وتمتلئ قاعة القراءة قبل موعد الغداء.",
    "hi": "पुस्तकालय हर सुबह नौ बजे खुलता है और दोपहर के भोजन से पहले ही वाचनालय भर जाता है।",
    "el": "Η βιβλιοθήκη ανοίγει κάθε πρωί στις εννέα και η αίθουσα ανάγνωσης γεμίζει πριν από το μεσημέρι.",
    "he": "הספרייה נפתחת בכל בוקר בשעה תשע, ואולם הקריאה מתמלא עוד לפני ארוחת הצהריים.",
    "tr": "Kütüphane her sabah saat dokuzda açılıyor ve okuma salonu öğle yemeğinden önce doluyor.",
    "th": "ห้องสมุดเปิดทุกเช้าเวลาเก้าโมงและห้องอ่านหนังสือก็เต็มก่อนเวลาอาหารกลางวัน",
}


@pytest.mark.parametrize(("code", "text"), SAMPLES.items(), ids=SAMPLES.keys())
def test_detects_language(code: str, text: str) -> None:
    assert detect_language(text) == code


@pytest.mark.parametrize(
    "text",
    ["", "   \n\t", "12345 67.89", "!!! ??? ...", "a", "ok", "→ ★ ✓ 🙂🙂", "x1"],
    ids=["empty", "whitespace", "digits", "punctuation", "one_letter", "two_letters", "symbols", "code"],
)
def test_too_little_text_is_undetected(text: str) -> None:
    assert detect_language(text) is None


def test_long_text_is_sampled() -> None:
    # Only the first SAMPLE_CHARS characters count, so a long English text with a German tail is English.
    english = (SAMPLES["en"] + " ") * (SAMPLE_CHARS // len(SAMPLES["en"]) + 1)
    assert detect_language(english + SAMPLES["de"] * 200) == "en"


def test_batch_matches_single_detection() -> None:
    texts = [*SAMPLES.values(), "", "42", SAMPLES["ru"]]
    assert detect_languages(texts) == [detect_language(text) for text in texts]
    assert detect_languages(texts)[-3:] == [None, None, "ru"]


@pytest.mark.parametrize("texts", [[], ["", " "]], ids=["no_texts", "only_blank"])
def test_batch_without_detectable_text(texts: list[str]) -> None:
    assert detect_languages(texts) == [None] * len(texts)


@pytest.mark.parametrize(
    ("code", "name"),
    [
        ("en", "English"),
        ("ru", "Russian"),
        ("zh", "Chinese"),
        ("ar", "Arabic"),
        ("hi", "Hindi"),
        ("DE", "German"),
        (" ja ", "Japanese"),
        ("el", "Greek"),
        ("nb", "Norwegian Bokmål"),
        ("xx", "xx"),
        ("", ""),
    ],
)
def test_language_name(code: str, name: str) -> None:
    assert language_name(code) == name


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("Passau", None),  # a name: no language of its own
        ("KX-4471", None),
        ("la presa", None),  # Spanish or Italian or Portuguese
        ("Überschwemmung", "de"),  # the detector is sure of it
        ("Why did the dam fail after the heavy rain?", "en"),
    ],
)
def test_short_queries_get_a_language_only_when_the_detector_is_sure(query: str, expected: str | None) -> None:
    assert detect_query_language(query) == expected
