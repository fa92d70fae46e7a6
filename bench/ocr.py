"""OCR accuracy per script on rendered 300-dpi pages (``python -m bench.ocr``).

Sentences written for this benchmark (Latin, Cyrillic, Arabic, Chinese, Devanagari) are drawn black on
white with Debian's Noto fonts (fonts-noto-core, fonts-noto-cjk) at 12 pt, 300 dpi, and read back by the
product's loader (``load_file`` on a PNG, in this process) in three ways: script detected by OSD (the default,
``ocr_languages`` empty), the right language given explicitly, and every installed pack at once (what an
empty setting meant before OSD: the baseline). The same pages turned by 90, 180 and 270 degrees are read
with detection too, and a degraded copy of each (skewed, blurred, speckled, JPEG-compressed) with detection
and with the right language. Character error rate (CER) = Levenshtein distance / reference length,
whitespace removed from both (Tesseract spaces CJK characters apart); accuracy = 1 - CER.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.env import RESULTS, ratio, run_standalone

logger = logging.getLogger(__name__)

_NOTO = Path("/usr/share/fonts/truetype/noto")
#: script -> (Tesseract language, font file, lines of text, text direction).
PAGES: dict[str, tuple[str, Path, list[str], str]] = {
    "Latin": ("eng", _NOTO / "NotoSerif-Regular.ttf", [
        "The committee approved the new budget for public hospitals",
        "after a long debate that lasted until midnight. Several members",
        "asked for an independent audit of last year's spending, and the",
        "chair promised to publish every contract within thirty days.",
    ], "ltr"),
    "Cyrillic": ("rus", _NOTO / "NotoSerif-Regular.ttf", [
        "Комитет утвердил новый бюджет для государственных больниц",
        "после долгих споров, которые продолжались до полуночи. Несколько",
        "депутатов потребовали независимой проверки расходов прошлого",
        "года, и председатель обещал опубликовать все договоры за месяц.",
    ], "ltr"),
    "Arabic": ("ara", _NOTO / "NotoNaskhArabic-Regular.ttf", [
        "وافقت اللجنة على الميزانية الجديدة للمستشفيات العامة بعد نقاش",
        "طويل استمر حتى منتصف الليل. وطالب عدد من الأعضاء بتدقيق مستقل",
        "في نفقات العام الماضي، ووعد الرئيس بنشر جميع العقود خلال شهر.",
    ], "rtl"),
    "Chinese": ("chi_sim", Path("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc"), [
        "委员会经过一直持续到午夜的长时间辩论后，批准了公立医院的",
        "新预算。几名委员要求对去年的开支进行独立审计，主席承诺在",
        "三十天内公布所有合同。",
    ], "ltr"),
    "Devanagari": ("hin", _NOTO / "NotoSansDevanagari-Regular.ttf", [
        "आधी रात तक चली लंबी बहस के बाद समिति ने सरकारी अस्पतालों",
        "के लिए नए बजट को मंजूरी दी। कई सदस्यों ने पिछले साल के खर्च",
        "की स्वतंत्र जांच की मांग की, और अध्यक्ष ने तीस दिनों के भीतर",
        "सभी अनुबंध प्रकाशित करने का वादा किया।",
    ], "ltr"),
}  # fmt: skip
ROTATIONS = (90, 180, 270)
#: The modes every page is read in, rotations apart.
MODES = ("detected", "explicit", "all_installed", "degraded", "degraded_explicit")
_DPI = 300
#: 12 pt at 300 dpi.
_FONT_PX = 50


def render(script: str, rotate: int = 0, lines: list[str] | None = None) -> Any:
    """One page of a script's lines (or of ``lines``, in that script's font), A4 width at 300 dpi, turned
    ``rotate`` degrees counter-clockwise."""
    from PIL import Image, ImageDraw, ImageFont

    _, font_path, own_lines, direction = PAGES[script]
    lines = lines or own_lines
    font = ImageFont.truetype(str(font_path), _FONT_PX)
    image = Image.new("L", (2480, 240 + 110 * len(lines)), 255)
    draw = ImageDraw.Draw(image)
    for number, line in enumerate(lines):
        y = 120 + 110 * number
        if direction == "rtl":
            # Right-aligned, shaped and ordered by libraqm.
            draw.text((2380, y), line, font=font, fill=0, direction="rtl", anchor="ra")
        else:
            draw.text((100, y), line, font=font, fill=0)
    return image.rotate(rotate, expand=True, fillcolor=255) if rotate else image


def degrade(image: Any, seed: int = 0) -> Any:
    """A poorer scan of a page: 1.5 degrees of skew, a blur, 2 % of pixels flipped to noise, JPEG at quality 40."""
    import io
    import random

    from PIL import Image, ImageFilter

    page = image.rotate(1.5, expand=True, fillcolor=255, resample=Image.BICUBIC).filter(ImageFilter.GaussianBlur(1))
    pixels = page.load()
    rng = random.Random(seed)
    for _ in range(page.width * page.height // 50):
        pixels[rng.randrange(page.width), rng.randrange(page.height)] = rng.choice((0, 255))
    buffer = io.BytesIO()
    page.save(buffer, "JPEG", quality=40)
    return Image.open(io.BytesIO(buffer.getvalue()))


def cer(reference: str, found: str) -> float:
    """Levenshtein distance over the reference's length, whitespace removed from both."""
    a, b = "".join(reference.split()), "".join(found.split())
    previous = list(range(len(b) + 1))
    for i, char in enumerate(a, start=1):
        current = [i] + [0] * len(b)
        for j, other in enumerate(b, start=1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char != other))
        previous = current
    return previous[-1] / max(len(a), 1)


def _read(folder: Path, script: str, rotate: int, languages: str, degraded: bool = False) -> dict[str, Any]:
    from indexer.loaders import LoadLimits, load_file

    path = folder / f"{script}-{rotate}.png"
    page = render(script, rotate)
    (degrade(page) if degraded else page).save(path, dpi=(_DPI, _DPI))
    start = time.perf_counter()
    [document] = load_file(path, limits=LoadLimits(ocr_languages=languages))
    seconds = time.perf_counter() - start
    error = cer("\n".join(PAGES[script][2]), document.text)
    meta = document.metadata
    return {
        "cer": error,
        "accuracy": 1 - error,
        "seconds": seconds,
        "languages": meta.get("ocr", ""),
        "script": meta.get("ocr_scripts", {}).get("1", ""),
        "rotated": meta.get("ocr_rotated", {}).get("1", 0),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Read every page in every mode; per-script CER, seconds per page, and the mean over scripts."""
    from indexer.loaders.ocr_script import installed_languages, text_languages

    installed = text_languages(installed_languages("tesseract"))
    scripts: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for script, (language, *_rest) in PAGES.items():
            row = {"language": language, "detected": _read(Path(tmp), script, 0, ""),
                   "explicit": _read(Path(tmp), script, 0, language),
                   "all_installed": _read(Path(tmp), script, 0, installed),
                   "rotated": {str(r): _read(Path(tmp), script, r, "") for r in ROTATIONS},
                   "degraded": _read(Path(tmp), script, 0, "", degraded=True),
                   "degraded_explicit": _read(Path(tmp), script, 0, language, degraded=True)}  # fmt: skip
            scripts[script] = row
            logger.info("%s: detected CER %.3f (%s), explicit %.3f, all installed %.3f", script,
                        row["detected"]["cer"], row["detected"]["languages"], row["explicit"]["cer"],
                        row["all_installed"]["cer"])  # fmt: skip
    summary = {mode: statistics.mean(row[mode]["cer"] for row in scripts.values())
               for mode in MODES}  # fmt: skip
    summary["rotated"] = statistics.mean(r["cer"] for row in scripts.values() for r in row["rotated"].values())
    detected_s = sum(row["detected"]["seconds"] for row in scripts.values())
    all_s = sum(row["all_installed"]["seconds"] for row in scripts.values())
    return {"dpi": _DPI, "font_px": _FONT_PX, "installed": installed, "scripts": scripts, "mean_cer": summary,
            "seconds": {"detected": detected_s, "all_installed": all_s,
                        "detected_over_all_installed": ratio(detected_s, all_s)}}  # fmt: skip


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench.ocr", description=__doc__)
    p.add_argument("--threads", type=int, default=1, help="CPU threads (Tesseract is run one page at a time)")
    p.add_argument("--out", type=Path, default=RESULTS / "ocr.json", help="the result file")
    return p


if __name__ == "__main__":
    raise SystemExit(run_standalone(_parser(), run))
