#!/usr/bin/env bash
# Run the whole test suite offline: unit tests, real-model tests and the browser test.
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
# The browser test drives Debian's Chromium and the store tests start a throwaway PostgreSQL server from
# Debian's binaries; install what is missing when we may (root on Debian).
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium chromium-driver fonts-noto-cjk)
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
if [ ${#missing[@]} -gt 0 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing ${missing[*]} for the browser and PostgreSQL tests..."
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null) \
        || echo "warning: could not install ${missing[*]}" >&2
fi
exec .venv/bin/python -m pytest "$@"
