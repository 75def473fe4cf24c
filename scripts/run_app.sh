#!/usr/bin/env bash
# Set everything up and start the app on the shipped demo pair (http://127.0.0.1:7860).
# Extra arguments go to `python -m app`, e.g. `--port 8000` or `--pair NAME`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export GRADIO_ANALYTICS_ENABLED=False
exec .venv/bin/python -m app "$@"
