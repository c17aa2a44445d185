"""Where spt3g raises RuntimeError, g3stream's typed error is a RuntimeError too.

A script ported from spt3g retries with ``except RuntimeError:``; it must
still catch a missing file, a truncated file, a corrupt frame, a refused
connection and a bad time string.  Each case checks what spt3g raises and
that g3stream's error is both that and its own typed class.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fidelity.differ import reference

import g3stream.core as ours
from g3stream.errors import (
    CRCMismatchError,
    G3ConnectionRefusedError,
    G3FileNotFoundError,
    G3FormatError,
    G3TimeParseError,
    TruncatedFrameError,
)


def raised(fn: Any) -> BaseException:
    try:
        fn()
    except Exception as exc:
        return exc
    raise AssertionError("nothing was raised")


def read_all(core: Any, path: Path) -> list[Any]:
    return list(core.G3File(str(path)))


@pytest.fixture
def written(tmp_path: Path) -> bytes:
    """The bytes of a small two-frame file (written by g3stream)."""
    f = ours.G3Frame(ours.G3FrameType.Scan)
    f["a"] = 1
    f["v"] = ours.G3VectorDouble([1.0, 2.0, 3.0])
    path = tmp_path / "ok.g3"
    w = ours.G3Writer(str(path))
    w(f)
    w(ours.G3Frame(ours.G3FrameType.EndProcessing))
    w.close()
    return path.read_bytes()


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.g3"
    theirs = raised(lambda: read_all(reference(), path))
    mine = raised(lambda: read_all(ours, path))
    assert type(theirs) is RuntimeError
    assert isinstance(mine, RuntimeError) and isinstance(mine, FileNotFoundError)
    assert isinstance(mine, G3FileNotFoundError) and mine.filename == str(path)


def test_truncated_file(tmp_path: Path, written: bytes) -> None:
    path = tmp_path / "cut.g3"
    path.write_bytes(written[:-7])
    theirs = raised(lambda: read_all(reference(), path))
    mine = raised(lambda: read_all(ours, path))
    assert isinstance(theirs, RuntimeError)
    assert isinstance(mine, RuntimeError) and isinstance(mine, TruncatedFrameError)


def test_corrupt_frame(tmp_path: Path, written: bytes) -> None:
    """A flipped byte inside a blob: both refuse the frame (CRC)."""
    bad = bytearray(written)
    bad[len(written) // 3] ^= 0x40
    path = tmp_path / "bad.g3"
    path.write_bytes(bytes(bad))
    theirs = raised(lambda: read_all(reference(), path))
    mine = raised(lambda: read_all(ours, path))
    assert isinstance(theirs, RuntimeError | ValueError)
    assert isinstance(mine, RuntimeError) and isinstance(mine, G3FormatError)
    assert isinstance(mine, ValueError)  # and still the ValueError it always was


def test_crc_mismatch_is_a_runtime_error() -> None:
    assert issubclass(CRCMismatchError, RuntimeError) and issubclass(CRCMismatchError, ValueError)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_refused_connection() -> None:
    port = free_port()
    url = f"tcp://127.0.0.1:{port}"
    # spt3g runs in a child process (a network call), bounded by a timeout
    script = (
        "from spt3g import core\n"
        "try:\n"
        f"    core.G3Reader({url!r}, timeout=2)\n"
        "except RuntimeError as e:\n"
        "    print('RuntimeError', type(e).__name__)\n"
    )
    reference()
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    ).stdout
    assert out.startswith("RuntimeError")
    mine = raised(lambda: ours.G3Reader(url, timeout=2))
    assert isinstance(mine, RuntimeError) and isinstance(mine, ConnectionError)
    assert isinstance(mine, G3ConnectionRefusedError)


def test_retry_loop_written_for_spt3g_catches_every_failure(tmp_path: Path, written: bytes) -> None:
    """The ported idiom: ``except RuntimeError`` around opening and reading."""
    cut = tmp_path / "cut.g3"
    cut.write_bytes(written[:-3])
    port = free_port()
    attempts = [
        lambda: read_all(ours, tmp_path / "absent.g3"),
        lambda: read_all(ours, cut),
        lambda: ours.G3Reader(f"tcp://127.0.0.1:{port}", timeout=2),
        lambda: ours.G3Time("not a time"),
    ]
    caught = 0
    for attempt in attempts:
        try:
            attempt()
        except RuntimeError:
            caught += 1
    assert caught == len(attempts)


def test_bad_time_string() -> None:
    theirs = raised(lambda: reference().G3Time("not a time"))
    mine = raised(lambda: ours.G3Time("not a time"))
    assert type(theirs) is RuntimeError
    assert isinstance(mine, RuntimeError) and isinstance(mine, G3TimeParseError)
    assert isinstance(mine, ValueError)
