"""Is a query a claim (a statement NLI can judge), a question, or a few keywords?

Only claims are reordered by NLI: a passage that entails a question's words is not a better answer to it, and
reordering questions by entailment lowered XQuAD MRR (BENCHMARKS.md, NLI section). Questions and keywords keep the
vector order and still get a stance. The rules are plain and multilingual: a question mark in any script, a
question word or an instruction verb ("name ...", "nennen Sie ...") at the start, or a question particle; a query
of three words or fewer (or a short CJK/Thai run without a verb-like length) is keywords.
"""

from __future__ import annotations

import re
import unicodedata

CLAIM, QUESTION, KEYWORDS = "claim", "question", "keywords"

# ? in Latin/Cyrillic, full-width, Arabic/Urdu, Greek (question mark U+037E and the ';' typed for it), Armenian.
_QUESTION_MARKS = ("?", "？", "؟", "\u037e", ";", "\u055e", "¿")
# First words that open a question or an instruction (lower-cased), in the languages the product lists.
_OPENERS = {
    # English
    "who",
    "whom",
    "whose",
    "what",
    "which",
    "when",
    "where",
    "why",
    "how",
    "is",
    "are",
    "was",
    "were",
    "do",
    "does",
    "did",
    "can",
    "could",
    "will",
    "would",
    "should",
    "has",
    "have",
    "had",
    "name",
    "list",
    "give",
    "describe",
    "explain",
    "identify",
    "tell",
    # German
    "wer",
    "wen",
    "wem",
    "wessen",
    "was",
    "welche",
    "welcher",
    "welches",
    "wann",
    "wo",
    "woher",
    "wohin",
    "warum",
    "weshalb",
    "wieso",
    "wie",
    "wieviel",
    "wieviele",
    "nennen",
    "nenne",
    "beschreiben",
    "beschreibe",
    "erklären",
    "gibt",
    "ist",
    "sind",
    "hat",
    "haben",
    "kann",
    "können",
    # French
    "qui",
    "quoi",
    "quel",
    "quelle",
    "quels",
    "quelles",
    "quand",
    "où",
    "pourquoi",
    "comment",
    "combien",
    "est-ce",
    "lequel",
    "laquelle",
    "nommez",
    "citez",
    "décrivez",
    "expliquez",
    # Spanish / Portuguese / Romanian
    "quién",
    "quiénes",
    "qué",
    "cuál",
    "cuáles",
    "cuándo",
    "dónde",
    "adónde",
    "cómo",
    "cuánto",
    "cuánta",
    "cuántos",
    "cuántas",
    "diga",
    "nombre",
    "mencione",
    "describa",
    "explique",
    "quem",
    "quais",
    "qual",
    "quando",
    "onde",
    "porque",
    "quanto",
    "quantos",
    "căror",
    "când",
    "unde",
    "cum",
    "cât",
    "câți",
    "câte",
    "numiți",
    "enumerați",
    # Russian / Bulgarian
    "кто",
    "что",
    "чем",
    "чего",
    "чему",
    "какой",
    "какая",
    "какое",
    "какие",
    "каким",
    "каких",
    "когда",
    "где",
    "куда",
    "откуда",
    "почему",
    "зачем",
    "как",
    "сколько",
    "чей",
    "чья",
    "назовите",
    "перечислите",
    "опишите",
    "объясните",
    "кой",
    "коя",
    "кое",
    "кои",
    "какво",
    "кога",
    "къде",
    "защо",
    "колко",
    # Greek
    "ποιος",
    "ποια",
    "ποιο",
    "ποιοι",
    "ποιες",
    "τι",
    "πότε",
    "πού",
    "γιατί",
    "πώς",
    "πόσο",
    "πόσα",
    "πόσοι",
    "πόσες",
    "πόσους",
    "πόσες",
    # Turkish
    "kim",
    "ne",
    "neden",
    "niçin",
    "niye",
    "nasıl",
    "nerede",
    "nereye",
    "hangi",
    "kaç",
    "belirtin",
    "yazınız",
    # Vietnamese (question words often end the sentence too: see _PARTICLES)
    "gì",
    "sao",
    "tại",
    "bao",
    "kể",
    "nêu",
    # Arabic / Urdu / Hindi / Swahili
    "ماذا",
    "متى",
    "أين",
    "لماذا",
    "كيف",
    "هل",
    "كم",
    "اذكر",
    "کیا",
    "کون",
    "کب",
    "کہاں",
    "کیوں",
    "کیسے",
    "क्या",
    "कौन",
    "कब",
    "कहाँ",
    "कहां",
    "क्यों",
    "कैसे",
    "कितना",
    "कितने",
    "nani",
    "nini",
    "lini",
    "wapi",
    "vipi",
}
# Question words or particles that may sit anywhere (CJK, Thai, Vietnamese, Hindi, Turkish "mi").
_PARTICLES = (
    "吗",
    "嗎",
    "呢",
    "什么",
    "什麼",
    "谁",
    "誰",
    "哪",
    "为什么",
    "為什麼",
    "怎么",
    "怎麼",
    "多少",
    "几个",
    "几年",
    "何が",
    "何を",
    "なに",
    "幾",
    "说出",
    "誰",
    "どこ",
    "いつ",
    "なぜ",
    "ですか",
    "무엇",
    "누구",
    "언제",
    "어디",
    "왜",
    "어떻게",
    "입니까",
    "อะไร",
    "ใด",
    "ใคร",
    "ที่ไหน",
    "เมื่อไร",
    "เมื่อไหร่",
    "ทำไม",
    "อย่างไร",
    "เท่าไร",
    "เท่าไหร่",
    "กี่",
    "ไหม",
    "หรือไม่",
    " là gì",
    " là ai",
    " nào",
    " bao nhiêu",
    " không?",
    " किस",
    " क्या",
    " कौन",
    " कितन",
    " mı",
    " mü ",
    " ли ",
)
_SPACELESS = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\u0e00-\u0e7f]")


def query_kind(query: str) -> str:
    """Classify a query as :data:`CLAIM`, :data:`QUESTION` or :data:`KEYWORDS`.

    Args:
        query: the query as typed.

    Returns:
        One of the three kinds.
    """
    text = unicodedata.normalize("NFC", query).strip()
    if not text:
        return KEYWORDS
    if text.rstrip(" .").endswith(_QUESTION_MARKS) or text.startswith("¿"):
        return QUESTION
    words = re.findall(r"[\w'’-]+", text.lower())
    if words and words[0] in _OPENERS:
        return QUESTION
    padded = f" {text.lower()} "
    if any(p in padded for p in _PARTICLES):
        return QUESTION
    if text.endswith((".", "。", "!", "！", "।", "۔")):
        return CLAIM  # a sentence, however short
    if _SPACELESS.search(text):
        return KEYWORDS if len(re.sub(r"\s+", "", text)) <= 6 else CLAIM
    return KEYWORDS if len(words) <= 3 else CLAIM


def is_claim(query: str) -> bool:
    """True when NLI should reorder results for this query (it reads as a statement)."""
    return query_kind(query) == CLAIM
