"""Without libFLAC: FLAC timestreams give one clear message, everything else works."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from clihelpers import TIMEOUT, g3stream_command

VECTORS = Path(__file__).parent.parent / "vectors"


def _run_without_libflac(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["G3STREAM_LIBFLAC"] = str(tmp_path / "no-libFLAC-here.so")
    return subprocess.run(
        [*g3stream_command(), *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=env,
    )


def test_verify_decode_explains_how_to_get_libflac(tmp_path: Path) -> None:
    r = _run_without_libflac(tmp_path, "verify", "--decode", str(VECTORS / "timestream_flac.g3"))
    assert r.returncode == 1
    assert "Traceback" not in r.stderr
    assert r.stderr.startswith("g3stream verify: error: G3STREAM_LIBFLAC:")
    assert "libFLAC" in r.stderr and "apt install" in r.stderr


def test_dump_json_explains_how_to_get_libflac(tmp_path: Path) -> None:
    r = _run_without_libflac(tmp_path, "dump", "--json", str(VECTORS / "timestream_flac.g3"))
    assert r.returncode == 1
    assert "Traceback" not in r.stderr
    assert "g3stream dump: error: G3STREAM_LIBFLAC:" in r.stderr


def test_checksums_need_no_libflac(tmp_path: Path) -> None:
    r = _run_without_libflac(tmp_path, "verify", str(VECTORS / "timestream_flac.g3"))
    assert r.returncode == 0, r.stderr
    assert "OK" in r.stdout
