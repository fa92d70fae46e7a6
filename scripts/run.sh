#!/usr/bin/env bash
# Build the offline model on first use, index data/sample/ if the index is empty, start one ingest worker and
# the web UI; the worker stops with the UI.
set -euo pipefail
cd "$(dirname "$0")/.."
export BABELSEARCH_HOME=${BABELSEARCH_HOME:-data/index}
chunks=$(.venv/bin/babelsearch stats --json | .venv/bin/python -c 'import json,sys; print(json.load(sys.stdin)["chunks"])')
if [ "$chunks" = "0" ]; then
    echo "Empty index: ingesting data/sample/ (the first run also builds the offline model)..."
    .venv/bin/babelsearch ingest data/sample --collection sample
fi
# Stance is on by default: prepare the NLI model now (its ONNX export runs once) rather than in the first search.
.venv/bin/babelsearch nli --prepare
# Uploads are ingested by this worker. Both run in the background so that a signal reaches the trap at once;
# whichever stops first (Ctrl-C, a crash) takes the other down. A job cut short resumes at the next start.
.venv/bin/babelsearch -v worker --concurrency 1 &
worker=$!
.venv/bin/streamlit run streamlit_app.py --server.headless true --browser.gatherUsageStats false "$@" &
ui=$!
stopping=
trap 'stopping=1; kill -TERM "$ui" "$worker" 2>/dev/null || true' INT TERM
trap 'kill -TERM "$ui" "$worker" 2>/dev/null || true; wait 2>/dev/null || true' EXIT
status=0
wait -n "$ui" "$worker" || status=$?
if [ -z "$stopping" ] && ! kill -0 "$worker" 2>/dev/null; then
    echo "The ingest worker stopped (exit $status): stopping the UI too." >&2
fi
exit "$status"
