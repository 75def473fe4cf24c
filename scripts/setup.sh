#!/usr/bin/env bash
# Idempotent set-up: a local virtual environment in .venv with everything the project needs.
# The slow part is mmcv 2.1.0, which has no CPU wheel and is built from source with its ops
# (about 8 minutes on 2 cores); pip caches the built wheel, so later runs take seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"
PY="${PYTHON:-python3.11}"
command -v "$PY" >/dev/null 2>&1 || PY=python3

stamp="$VENV/.setup-stamp"
want="$(cat requirements.txt scripts/setup.sh pyproject.toml | sha256sum | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  echo "[setup] $VENV is up to date"
  exit 0
fi

[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
pip_install() { "$VENV/bin/python" -m pip install --disable-pip-version-check -q "$@"; }

echo "[setup] torch and build tools"
pip_install torch==2.13.0 "setuptools>=77,<80" wheel ninja numpy==2.4.6
if ! "$VENV/bin/python" -c "import mmcv.ops" >/dev/null 2>&1; then
  echo "[setup] mmcv 2.1.0 with ops (built from source the first time, ~8 min on 2 cores)"
  MMCV_WITH_OPS=1 MAX_JOBS="$(nproc)" pip_install --no-build-isolation mmcv==2.1.0
fi
echo "[setup] the project (editable) with its pinned dependencies (pyproject.toml)"
pip_install --no-build-isolation -e ".[app,analysis,test,deploy]"
# grad-cam (analysis extra) pulls torchvision, whose registry build is linked against a CUDA
# torch: beside the CPU torch its import fails. grad-cam uses it only for helpers the project
# does not call (analysis/figures/gradcam.py stands in for it), so a broken build is removed
# rather than left for other libraries to trip over.
if ! "$VENV/bin/python" -c "import torchvision" >/dev/null 2>&1; then
  "$VENV/bin/python" -m pip uninstall -y -q torchvision || true
fi
echo "$want" > "$stamp"
echo "[setup] done: $VENV"
