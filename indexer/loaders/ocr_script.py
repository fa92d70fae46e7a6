"""Script and orientation detection for OCR (Tesseract OSD), and the language packs that read each script.

Tesseract reads a page well only with the model of its script: Latin letters read with the Russian model
come out as Cyrillic look-alikes, and every extra language slows it down. OSD (the ``osd`` pack) names
the page's script and how far it is rotated, before the text is read.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger(__name__)

#: Tesseract language packs by the script OSD names, most common first (only installed ones are used).
SCRIPT_LANGUAGES: dict[str, tuple[str, ...]] = {
    "Latin": (
        "eng",
        "deu",
        "fra",
        "spa",
        "ita",
        "por",
        "nld",
        "pol",
        "ces",
        "swe",
        "dan",
        "nor",
        "fin",
        "hun",
        "ron",
        "tur",
        "vie",
        "ind",
        "hrv",
        "slk",
        "slv",
        "lit",
        "lav",
        "est",
        "cat",
    ),
    "Cyrillic": ("rus", "ukr", "bel", "bul", "srp", "mkd", "kaz", "kir", "tgk", "mon"),
    "Arabic": ("ara", "fas", "urd", "pus", "uig", "snd"),
    "Devanagari": ("hin", "mar", "nep", "san"),
    # OSD often names Chinese text "Japanese" (the two share the Han characters): all CJK packs installed.
    "Han": ("chi_sim", "chi_tra", "jpn"),
    "Hangul": ("kor",),
    "Greek": ("ell",),
    "Hebrew": ("heb", "yid"),
    "Thai": ("tha",),
    "Bengali": ("ben", "asm"),
    "Tamil": ("tam",),
    "Telugu": ("tel",),
    "Kannada": ("kan",),
    "Malayalam": ("mal",),
    "Gujarati": ("guj",),
    "Gurmukhi": ("pan",),
    "Georgian": ("kat",),
    "Armenian": ("hye",),
    "Ethiopic": ("amh",),
    "Khmer": ("khm",),
    "Myanmar": ("mya",),
    "Sinhala": ("sin",),
}
_ALIASES = {"HanS": "Han", "HanT": "Han", "Japanese": "Han", "Katakana": "Han", "Hiragana": "Han",
            "Korean": "Hangul", "Cyrillic_Serbian": "Cyrillic"}  # fmt: skip
# OSD tells Latin and Cyrillic pages apart poorly (an upright Russian page is often "Latin"): a page of
# either script is also read with the first installed pack of the other, which costs them nothing measurable.
_COMPANIONS = {"Latin": "Cyrillic", "Cyrillic": "Latin", "Greek": "Latin"}
#: Least OSD orientation confidence for a page to be turned (below it, a guess).
MIN_ORIENTATION_CONF = 1.0
#: Most language packs combined for one page: each one more slows Tesseract down.
MAX_SCRIPT_LANGUAGES = 3
_NOT_TEXT = ("osd", "equ")


@dataclass(frozen=True)
class Orientation:
    """What OSD found on a page.

    Attributes:
        rotate: degrees to turn the page clockwise so that its text is upright (0, 90, 180 or 270).
        script: the script name, e.g. ``"Cyrillic"`` (aliases folded: ``"Japanese"`` is ``"Han"``).
        orientation_conf: Tesseract's confidence in ``rotate``.
        script_conf: Tesseract's confidence in ``script``.
    """

    rotate: int
    script: str
    orientation_conf: float
    script_conf: float


@functools.lru_cache(maxsize=8)
def installed_languages(command: str) -> tuple[str, ...]:
    """The language packs Tesseract has (``osd`` included), cached per Tesseract command.

    Args:
        command: the Tesseract program (pytesseract's ``tesseract_cmd``), the cache key.

    Returns:
        The pack names, sorted.

    Raises:
        pytesseract.TesseractNotFoundError: if the program is missing.
    """
    import pytesseract

    return tuple(sorted(pytesseract.get_languages(config="")))


def text_languages(installed: tuple[str, ...]) -> str:
    """Every installed pack that reads text (not ``osd``), joined by "+": the choice without OSD."""
    return "+".join(name for name in installed if name not in _NOT_TEXT) or "eng"


def languages_for(script: str, installed: tuple[str, ...]) -> str:
    """The installed packs that read a script, joined by "+"; "" when none is installed.

    Args:
        script: a script name as OSD gives it.
        installed: the installed packs.

    Returns:
        Up to ``MAX_SCRIPT_LANGUAGES`` packs, most common language first; for Latin and Cyrillic the last one is
        the other script's first pack.
    """
    script = _ALIASES.get(script, script)
    chosen = [name for name in SCRIPT_LANGUAGES.get(script, ()) if name in installed]
    companion = next((name for name in SCRIPT_LANGUAGES.get(_COMPANIONS.get(script, ""), ()) if name in installed), "")
    if not chosen:
        return ""
    if companion:
        chosen = [*chosen[: MAX_SCRIPT_LANGUAGES - 1], companion]
    return "+".join(chosen[:MAX_SCRIPT_LANGUAGES])


def detect(image: Any, timeout_s: float, source_name: str) -> Orientation | None:
    """Run Tesseract OSD on a page.

    Args:
        image: a PIL image.
        timeout_s: seconds before Tesseract is stopped (0: no limit).
        source_name: display name, for the log.

    Returns:
        The orientation and script, or None when OSD cannot tell (too little text, a picture).

    Raises:
        pytesseract.TesseractNotFoundError: if the program is missing.
        RuntimeError: if OSD runs past ``timeout_s`` (pytesseract's timeout).
    """
    import pytesseract

    dpi = _dpi(image)
    # The page's resolution, and fewer characters than the default 50 to decide on: short scans have a few lines.
    config = f"--dpi {dpi} -c min_characters_to_try=10"
    try:
        found = pytesseract.image_to_osd(image, config=config, timeout=timeout_s, output_type=pytesseract.Output.DICT)
    except pytesseract.TesseractError as e:
        logger.info("%s: no script or orientation detected (%s)", source_name, " ".join(str(e).split())[-80:])
        return None
    script = str(found.get("script", ""))
    return Orientation(int(found.get("rotate", 0)) % 360, _ALIASES.get(script, script),
                       float(found.get("orientation_conf", 0.0)), float(found.get("script_conf", 0.0)))  # fmt: skip


def upright(image: Any, orientation: Orientation | None) -> Any:
    """The page turned so its text is upright, when OSD is confident enough; else the page as it is.

    Args:
        image: a PIL image.
        orientation: what OSD found, or None.

    Returns:
        A PIL image.
    """
    if orientation is None or not orientation.rotate or orientation.orientation_conf < MIN_ORIENTATION_CONF:
        return image
    if image.mode == "P":
        # A palette index is not a colour: the corners uncovered by turning must be white.
        image = image.convert("RGB")
    # PIL turns counter-clockwise; OSD says how far to turn clockwise.
    return image.rotate(-orientation.rotate, expand=True, fillcolor=_white(image))


def _dpi(image: Any) -> int:
    dpi = image.info.get("dpi") if hasattr(image, "info") else None
    try:
        value = int(round(float(dpi[0]))) if dpi else 0
    except (TypeError, ValueError, IndexError):
        value = 0
    # Scans say 70-1200 dpi; an absent or absurd value is taken as a 300-dpi scan.
    return value if 70 <= value <= 1200 else 300


def _white(image: Any) -> Any:
    bands = len(image.getbands())
    return 255 if bands == 1 else (255,) * bands
