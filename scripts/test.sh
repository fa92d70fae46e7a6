#!/usr/bin/env bash
# Run the whole test suite offline: unit tests, real-model tests and the browser test.
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
# The browser test drives Debian's Chromium, the store tests start a throwaway PostgreSQL server from
# Debian's binaries and the OCR tests run Debian's Tesseract; install what is missing when we may (root on Debian).
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium chromium-driver)
# Screenshots and OCR test pages of CJK text need the CJK fonts, whether or not Chromium was there already.
compgen -G "/usr/share/fonts/opentype/noto/NotoSansCJK*" >/dev/null || missing+=(fonts-noto-cjk)
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
# The multi-machine job queue tests start a throwaway Redis server.
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
# OCR: Tesseract with the packs of the scripts the product reads (Latin, Cyrillic, Arabic, CJK, Devanagari).
# OSD (script and orientation detection) picks the packs for each page.
compgen -G "/usr/share/tesseract-ocr/*/tessdata/chi_sim.traineddata" >/dev/null \
    && compgen -G "/usr/share/tesseract-ocr/*/tessdata/osd.traineddata" >/dev/null \
    || missing+=(tesseract-ocr tesseract-ocr-osd tesseract-ocr-eng tesseract-ocr-rus tesseract-ocr-ara
                 tesseract-ocr-chi-sim tesseract-ocr-hin)
# OCR test pages of Arabic and Devanagari text are drawn with Noto fonts.
compgen -G "/usr/share/fonts/truetype/noto/NotoSansDevanagari-Regular.ttf" >/dev/null || missing+=(fonts-noto-core)
if [ ${#missing[@]} -gt 0 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing ${missing[*]} for the browser, PostgreSQL, Redis and OCR tests..."
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null) \
        || echo "warning: could not install ${missing[*]}" >&2
fi
exec .venv/bin/python -m pytest "$@"
