#!/usr/bin/env bash
# Set everything up and run the whole test suite, slow tests included (what CI runs).
# Extra arguments go to pytest, e.g. `bash scripts/test.sh -k heads`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ ! -x /usr/bin/chromium ]; then   # Debian's chromium, for the browser test
  if [ "$(id -u)" = 0 ]; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) \
      || echo "[test] could not install chromium: the browser test will say so"
  else
    echo "[test] /usr/bin/chromium missing (sudo apt-get install chromium): browser test will say so"
  fi
fi
export GRADIO_ANALYTICS_ENABLED=False
echo "[test] ruff check (pyflakes, pycodestyle, import order, bugbear; pyproject.toml)"
.venv/bin/ruff check .
exec .venv/bin/python -m pytest -m "" -p no:cacheprovider "$@"
