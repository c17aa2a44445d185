"""``--max-decoded-size`` on the commands that decode: a hostile frame is a one-line error."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from clihelpers import g3stream_command, run_cli
from hostile_inputs import flac_bomb_frame, flac_constant_stream, flac_timestream_blob, frame_bytes


def _bomb(tmp_path: Path) -> Path:
    path = tmp_path / "bomb.g3"
    path.write_bytes(flac_bomb_frame(200))  # 13 million samples: 157 MB once decoded
    return path


def test_dump_refuses_a_frame_over_the_limit(tmp_path: Path) -> None:
    path = _bomb(tmp_path)
    done = run_cli("dump", "--max-decoded-size", "16M", str(path))
    assert done.returncode == 0  # the listing shows the entry as undecodable
    assert "decoded-size limit of 16777216 bytes" in done.stdout
    done = run_cli("dump", "--json", "--max-decoded-size", "16M", str(path))
    assert done.returncode == 0  # the entry's JSON carries the error
    assert "decoded-size limit of 16777216 bytes" in done.stdout
    done = run_cli("dump", "--json", str(path))  # the default (4 GiB) is generous
    assert done.returncode == 0, done.stderr
    assert "decoded-size limit" not in done.stdout


def test_dump_from_stdin_takes_the_limit(tmp_path: Path) -> None:
    path = _bomb(tmp_path)
    code = "import sys; sys.stdout.buffer.write(open(sys.argv[1], 'rb').read())"
    feed = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, check=True)
    done = subprocess.run(
        [*g3stream_command(), "dump", "--json", "--max-decoded-size", "1M", "-"],
        input=feed.stdout,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0
    assert b"decoded-size limit of 1048576 bytes" in done.stdout


def test_verify_decode_names_the_offset(tmp_path: Path) -> None:
    path = _bomb(tmp_path)
    done = run_cli("verify", "--decode", "--max-decoded-size", "8MiB", str(path))
    assert done.returncode == 1
    assert "corrupt frame at byte offset" in done.stderr
    assert "decoded-size limit of 8388608 bytes" in done.stderr
    small = tmp_path / "small.g3"
    small.write_bytes(frame_bytes({"ts": flac_timestream_blob(flac_constant_stream(2))}))
    done = run_cli("verify", "--decode", "--max-decoded-size", "8MiB", str(small))
    assert done.returncode == 0, done.stderr


def test_size_must_be_a_size(tmp_path: Path) -> None:
    done = run_cli("dump", "--max-decoded-size", "lots", str(_bomb(tmp_path)))
    assert done.returncode == 2
    assert "not a size" in done.stderr
