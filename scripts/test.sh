#!/usr/bin/env bash
# Set everything up and run the whole test suite, slow tests included (what CI runs).
# Extra arguments go to pytest, e.g. `bash scripts/test.sh -k heads`.
set -euo pipefail
cd "$(dirname "$0")/.."
# Style first: ruff alone (the version pinned in pyproject.toml) takes seconds, so a style error
# fails before the mmcv build instead of after it.
ruff_pin="$(grep -o 'ruff==[0-9.]*' pyproject.toml)"
if ! .venv/bin/ruff --version 2>/dev/null | grep -q "${ruff_pin#ruff==}"; then
  PY="${PYTHON:-python3.11}"; command -v "$PY" >/dev/null 2>&1 || PY=python3
  [ -x .venv/bin/python ] || "$PY" -m venv .venv
  .venv/bin/python -m pip install --disable-pip-version-check -q "$ruff_pin"
fi
echo "[test] ruff check (pyflakes, pycodestyle, import order, bugbear, complexity; pyproject.toml)"
.venv/bin/ruff check .
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
exec .venv/bin/python -m pytest -m "" -p no:cacheprovider "$@"
