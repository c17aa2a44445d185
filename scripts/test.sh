#!/usr/bin/env bash
# Set up everything the tests need (virtualenv, packages, netcat) and run
# lint, type checks and the test suite.  Safe to run repeatedly.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test,dev]'

# netcat (Debian's netcat-openbsd) for the netcat interoperability tests;
# without it those tests skip with a reason.
if ! command -v nc >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq netcat-openbsd) >/dev/null 2>&1 \
        || echo "warning: could not install netcat-openbsd; netcat tests will skip"
fi

.venv/bin/ruff check src tests bench
.venv/bin/ruff format --check src tests bench
.venv/bin/mypy src/g3stream
.venv/bin/python -m pytest -q "$@"
