#!/usr/bin/env bash
# Build the offline model on first use, index data/sample/ if the index is empty, start the web UI.
set -euo pipefail
cd "$(dirname "$0")/.."
export BABELSEARCH_HOME=${BABELSEARCH_HOME:-data/index}
chunks=$(.venv/bin/babelsearch stats --json | .venv/bin/python -c 'import json,sys; print(json.load(sys.stdin)["chunks"])')
if [ "$chunks" = "0" ]; then
    echo "Empty index: ingesting data/sample/ (the first run also builds the offline model)..."
    .venv/bin/babelsearch ingest data/sample --collection sample
fi
exec .venv/bin/streamlit run streamlit_app.py --server.headless true --browser.gatherUsageStats false "$@"
