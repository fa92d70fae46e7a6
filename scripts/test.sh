#!/usr/bin/env bash
# Run the whole test suite offline: unit tests, real-model tests and the browser test.
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
# The browser test drives Debian's Chromium; install it when missing and we may (root on Debian).
if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing chromium for the browser test..."
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver fonts-noto-cjk >/dev/null) \
        || echo "warning: could not install chromium" >&2
fi
exec .venv/bin/python -m pytest "$@"
