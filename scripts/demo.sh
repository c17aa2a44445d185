#!/usr/bin/env bash
# Set up g3stream in a virtualenv and run the demo: a simulated DAQ served
# on a local port and a live monitor reading it.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -e .
exec .venv/bin/python -m g3stream demo "$@"
