"""Helpers to run the real ``g3stream`` console command in subprocesses.

Every wait is bounded by a timeout and synchronised on output lines or
process exit, never on sleeping.
"""

from __future__ import annotations

import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

#: Seconds any single wait in these tests may take before it fails.
TIMEOUT = 60.0


def g3stream_command() -> list[str]:
    """The installed console script (next to this Python), as a user would run it."""
    here = Path(sys.executable).parent / "g3stream"
    if here.exists():
        return [str(here)]
    found = shutil.which("g3stream")
    if found:
        return [found]
    pytest.skip("the g3stream console script is not installed (pip install -e .)")


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    env.pop("COLUMNS", None)
    return env


def run_cli(
    *args: str, input: str | None = None, timeout: float = TIMEOUT, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``g3stream ARGS`` to completion; text output."""
    return subprocess.run(
        [*g3stream_command(), *args],
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=_env(),
        cwd=cwd,
    )


def run_cli_bytes(
    *args: str, input: bytes | None = None, timeout: float = TIMEOUT
) -> subprocess.CompletedProcess[bytes]:
    """Run ``g3stream ARGS`` to completion; binary stdin and stdout."""
    return subprocess.run(
        [*g3stream_command(), *args],
        input=input,
        capture_output=True,
        timeout=timeout,
        env=_env(),
    )


class Background:
    """A ``g3stream`` process running in the background, its output read line by line."""

    def __init__(self, args: Sequence[str], stdout_binary: bool = False) -> None:
        self.args = list(args)
        self.proc = subprocess.Popen(
            [*g3stream_command(), *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=_env(),
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.err_lines: queue.Queue[str] = queue.Queue()
        self.stdout_lines: list[str] = []
        self.stderr_lines: list[str] = []
        self.stdout_bytes = bytearray()
        self._threads = [
            threading.Thread(target=self._pump_err, daemon=True),
            threading.Thread(
                target=self._pump_bytes if stdout_binary else self._pump_out, daemon=True
            ),
        ]
        for t in self._threads:
            t.start()

    def _pump_out(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            self.stdout_lines.append(line)
            self.lines.put(line)

    def _pump_bytes(self) -> None:
        assert self.proc.stdout is not None
        while True:
            chunk = self.proc.stdout.read1(65536)  # type: ignore[attr-defined]
            if not chunk:
                return
            self.stdout_bytes += chunk

    def _pump_err(self) -> None:
        assert self.proc.stderr is not None
        for raw in self.proc.stderr:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            self.stderr_lines.append(line)
            self.err_lines.put(line)

    def wait_for_line(
        self, pattern: str, timeout: float = TIMEOUT, stderr: bool = False
    ) -> re.Match[str]:
        """Wait for a stdout (or stderr) line matching ``pattern`` (regex search)."""
        deadline = time.monotonic() + timeout
        rx = re.compile(pattern)
        lines = self.err_lines if stderr else self.lines
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(
                    f"no line matching {pattern!r} within {timeout} s; "
                    f"stdout={self.stdout_lines[-20:]} stderr={self.stderr_lines[-20:]}"
                )
            try:
                line = lines.get(timeout=min(left, 0.5))
            except queue.Empty:
                if self.proc.poll() is not None and lines.empty():
                    self._join_pumps()
                    if lines.empty():
                        raise AssertionError(
                            f"process exited ({self.proc.returncode}) before a line matching "
                            f"{pattern!r}; stdout={self.stdout_lines[-20:]} "
                            f"stderr={self.stderr_lines[-20:]}"
                        ) from None
                continue
            m = rx.search(line)
            if m:
                return m

    def port(self, timeout: float = TIMEOUT) -> int:
        """The port announced by a ``serving on port N`` / ``listening on port N`` line."""
        m = self.wait_for_line(r"(?:serving|listening) on port (\d+)", timeout)
        return int(m.group(1))

    def _join_pumps(self) -> None:
        for t in self._threads:
            t.join(TIMEOUT)

    def wait(self, timeout: float = TIMEOUT) -> int:
        """Wait for the process to exit; return its status."""
        rc = self.proc.wait(timeout)
        self._join_pumps()
        return rc

    def interrupt(self, timeout: float = TIMEOUT) -> int:
        """Send SIGINT (Ctrl-C) and wait for the process to exit."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        return self.wait(timeout)

    def terminate(self, timeout: float = TIMEOUT) -> int:
        """Send SIGTERM (a service manager's stop) and wait for the process to exit."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.wait(timeout)

    def stop(self) -> None:
        """Kill the process if it is still running (test clean-up)."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(TIMEOUT)
        self._join_pumps()

    @property
    def stderr(self) -> str:
        """Everything written to stderr so far."""
        return "\n".join(self.stderr_lines)

    @property
    def stdout(self) -> str:
        """Everything written to stdout so far (text mode)."""
        return "\n".join(self.stdout_lines)


def write_frames(path: Path, frames: Iterable[Any]) -> bytes:
    """Write ``frames`` to ``path`` as a .g3 stream; return the bytes written."""
    data = b"".join(bytes(f.encoded()) for f in frames)
    path.write_bytes(data)
    return data


def frame_offsets(data: bytes) -> list[int]:
    """Byte offset of each frame of a .g3 stream."""
    from g3stream.codec.decoder import FrameDecoder

    dec = FrameDecoder()
    dec.feed(data)
    return [f.stream_offset for f in dec.frames()]


def unused_port() -> int:
    """A local port with nothing listening on it (just released by the system)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def background() -> Iterator[type[Background]]:
    """Start background ``g3stream`` processes; every one is stopped at the end of the test.

    Shared by the conftest files that import it (cli, web).
    """
    started: list[Background] = []

    class Tracked(Background):
        def __init__(self, args: Sequence[str], stdout_binary: bool = False) -> None:
            super().__init__(args, stdout_binary)
            started.append(self)

    yield Tracked
    for bg in started:
        bg.stop()
