#!/usr/bin/env bash
# Set up everything the tests need (virtualenv, packages, netcat, chromium) and run
# lint, type checks and the test suite.  Safe to run repeatedly.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test,dev]'

# The optional compiled accelerator (accel/), so that both codec paths are tested.
if command -v cc >/dev/null 2>&1 || command -v gcc >/dev/null 2>&1; then
    .venv/bin/python -m pip install -q --disable-pip-version-check 'setuptools>=77'
    .venv/bin/python -m pip install -q --disable-pip-version-check --no-build-isolation ./accel
else
    echo "warning: no C compiler; the accelerator is not built and its tests will skip"
fi

# Debian packages some tests drive, installed only where missing (as root):
# netcat (netcat-openbsd) for the netcat interoperability tests, and
# chromium with chromium-driver for the web monitor's browser tests.
# Without them those tests skip with a reason.
missing=()
command -v nc >/dev/null 2>&1 || missing+=(netcat-openbsd)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
if [ "${#missing[@]}" -gt 0 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}") >/dev/null 2>&1 \
        || echo "warning: could not install ${missing[*]}; the tests needing them will skip"
fi

# libFLAC (a system library, found by the platform's library search) for the
# FLAC timestream tests: Debian names it libflac14 or libflac12 by release.
if ! .venv/bin/python -c 'import ctypes.util, sys; sys.exit(not ctypes.util.find_library("FLAC"))' \
    && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    (apt-get update -qq \
        && pkg=$(apt-cache search --names-only '^libflac[0-9]+$' | sort -r | head -n 1 | cut -d' ' -f1) \
        && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg") >/dev/null 2>&1 \
        || echo "warning: could not install libFLAC; FLAC timestream tests will fail"
fi

.venv/bin/ruff check src tests bench
.venv/bin/ruff format --check src tests bench
.venv/bin/mypy src/g3stream
if [ $# -eq 0 ]; then
    # the codec once more on the pure-Python path (the full run below uses the accelerator)
    G3STREAM_PURE=1 .venv/bin/python -m pytest -q -p no:cacheprovider tests/codec tests/cereal
fi
.venv/bin/python -m pytest -q "$@"
