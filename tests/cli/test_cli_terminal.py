"""What users see on a terminal: the live table and the progress bar, on a real pseudo-terminal."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from clihelpers import TIMEOUT, g3stream_command, write_frames

from g3stream import G3Frame, G3FrameType

pty = pytest.importorskip("pty", reason="pseudo-terminals need a POSIX system")


def _run_on_terminal(args: list[str], terminal_stream: str) -> tuple[int, str, str]:
    """Run g3stream with stdout or stderr on a pseudo-terminal; return (status, tty, other)."""
    master, slave = pty.openpty()
    captured = bytearray()

    def pump() -> None:
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the terminal closed (EIO on Linux)
                return
            if not chunk:
                return
            captured.extend(chunk)

    kwargs = {"stdout": slave, "stderr": subprocess.PIPE}
    if terminal_stream == "stderr":
        kwargs = {"stdout": subprocess.PIPE, "stderr": slave}
    env = dict(os.environ, COLUMNS="100", LINES="40", TERM="xterm-256color")
    proc = subprocess.Popen([*g3stream_command(), *args], env=env, **kwargs)  # type: ignore[call-overload]
    os.close(slave)
    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    out, err = proc.communicate(timeout=TIMEOUT)
    reader.join(TIMEOUT)
    os.close(master)
    other = (out if terminal_stream == "stderr" else err) or b""
    return proc.returncode, captured.decode("utf-8", "replace"), other.decode("utf-8", "replace")


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX pseudo-terminals")
def test_demo_draws_a_live_table_on_a_terminal() -> None:
    status, screen, err = _run_on_terminal(
        ["demo", "--duration", "1.5", "--interval", "0.3"], "stdout"
    )
    assert status == 0, err
    assert "frame type" in screen and "frames/s" in screen
    assert "Timepoint" in screen
    assert "\x1b[" in screen  # redrawn in place with terminal control sequences
    assert "demo finished" in screen
    assert "Traceback" not in err


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX pseudo-terminals")
def test_verify_shows_a_progress_bar_on_a_terminal(tmp_path: Path) -> None:
    frames = []
    for i in range(200):
        f = G3Frame(G3FrameType.Scan)
        f["i"] = i
        f["payload"] = "z" * 2000
        frames.append(f)
    path = tmp_path / "big.g3"
    write_frames(path, frames)
    status, screen, out = _run_on_terminal(["verify", "--progress", str(path)], "stderr")
    assert status == 0
    assert f"File {path} OK (200 frames" in out
    assert "big.g3" in screen  # the bar is labelled with the file name
