"""Storms and floods: connect/reset storms, a blocked log, running out of descriptors."""

from __future__ import annotations

import logging
import os
import socket
import sys
import threading
import time

import pytest
from g3net_testutil import (
    TIMEOUT,
    Background,
    T,
    connect_client,
    finish,
    make_frame,
    spawn_python,
    wait_until,
)

from g3stream import G3Frame, G3FrameType
from g3stream.codec.decoder import FrameDecoder
from g3stream.net import G3NetworkSender
from g3stream.net.eventlog import flush

pytestmark = pytest.mark.skipif(
    not os.path.isdir("/proc/self/fd"), reason="counts descriptors through /proc"
)

RATE = 400.0  # frames per second of the simulated DAQ
STORM_CLIENTS = 1000

STORM_SCRIPT = """
import socket, struct, sys
port, n = int(sys.argv[1]), int(sys.argv[2])
print('start', flush=True)
failed = 0
for i in range(n):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
    s.settimeout(5)
    try:
        s.connect(('127.0.0.1', port))
    except OSError:
        failed += 1
    s.close()   # with SO_LINGER 0: a reset
print('done', failed, flush=True)
"""


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


class BlockedHandler(logging.Handler):
    """A log handler stuck like a write to a full stderr pipe, until released."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.release = threading.Event()
        self.records = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.records += 1
        self.release.wait(TIMEOUT)


def produce(sender: G3NetworkSender, stop: threading.Event) -> int:
    """Frames at RATE per second until ``stop``; returns the number sent."""
    start = time.monotonic()
    i = 0
    while not stop.is_set():
        wait = start + i / RATE - time.monotonic()
        if wait > 0:
            stop.wait(wait)
        sender(make_frame(T, i, 64))
        i += 1
    return i


def read_arrivals(sock: socket.socket, arrivals: list[float]) -> None:
    """Record the arrival time of every frame until the stream ends."""
    dec = FrameDecoder()
    while True:
        data = sock.recv(1 << 16)
        if not data:
            break
        dec.feed(data)
        now = time.monotonic()
        while dec.next_frame() is not None:
            arrivals.append(now)
    sock.close()


def rate(arrivals: list[float], t0: float, t1: float) -> float:
    return sum(1 for t in arrivals if t0 <= t < t1) / (t1 - t0)


def test_connect_reset_storm_does_not_slow_a_reader_or_leak(
    caplog: pytest.LogCaptureFixture,
) -> None:
    net_log = logging.getLogger("g3stream.net")
    old_level = net_log.level
    net_log.setLevel(logging.INFO)
    # Warm up once: the logging thread is started on first use and stays.
    with G3NetworkSender("*", 0):
        pass
    flush()
    start_threads, start_fds = threading.active_count(), open_fds()

    blocked = BlockedHandler()  # stderr nobody reads: every log call would hang
    net_log.addHandler(blocked)
    sender = G3NetworkSender("*", 0)
    stop = threading.Event()
    try:
        arrivals: list[float] = []
        reader = Background(read_arrivals, connect_client(sender.port), arrivals)
        wait_until(lambda: sender.statistics().connected_clients == 1)
        steady_threads, steady_fds = threading.active_count(), open_fds()
        producer = Background(produce, sender, stop)

        time.sleep(0.5)  # noqa: TID251 - the measurement window, not synchronisation
        t0 = time.monotonic()
        time.sleep(2.0)  # noqa: TID251 - baseline window
        t1 = time.monotonic()
        storm = spawn_python(STORM_SCRIPT, str(sender.port), str(STORM_CLIENTS))
        assert storm.stdout is not None
        assert storm.stdout.readline().split() == [b"start"]
        s0 = time.monotonic()
        out, err = finish(storm)
        s1 = time.monotonic()
        assert out.split()[0] == "done", err
        stop.set()
        sent = producer.result()

        baseline, during = rate(arrivals, t0, t1), rate(arrivals, s0, s1)
        assert baseline > 0.8 * RATE
        assert during >= 0.8 * baseline, (baseline, during, s1 - s0)
        assert blocked.records >= 1  # logging was indeed stuck meanwhile

        # Every storm client is gone: descriptors and threads are back.
        wait_until(lambda: sender.statistics().connected_clients == 1)
        wait_until(lambda: open_fds() == steady_fds)
        wait_until(lambda: threading.active_count() == steady_threads)
        stats = sender.statistics()
        assert stats.clients_accepted >= STORM_CLIENTS - int(out.split()[1])
    finally:
        stop.set()
        blocked.release.set()
        sender(G3Frame(G3FrameType.EndProcessing))
        net_log.removeHandler(blocked)
        net_log.setLevel(old_level)
    reader.result()
    assert len(arrivals) == sent
    flush()
    wait_until(lambda: open_fds() == start_fds)
    wait_until(lambda: threading.active_count() == start_threads)


EMFILE_SCRIPT = """
import resource, sys, threading
from g3stream import G3Frame, G3FrameType
from g3stream.net import G3NetworkSender
sender = G3NetworkSender('*', 0)
meta = G3Frame(G3FrameType.Wiring); meta['x'] = 1
sender(meta)                        # replayed to every client that gets in
resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
print(sender.port, flush=True)
go = threading.Event()
threading.Thread(target=lambda: (sys.stdin.readline(), go.set()), daemon=True).start()
while not go.wait(0.02):            # a slow DAQ: 50 frames/s
    sender(G3Frame(G3FrameType.Timepoint))
st = sender.statistics()
print(st.accept_failures, st.connected_clients, flush=True)
sender(G3Frame(G3FrameType.EndProcessing))
"""


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc/PID/stat")
def test_out_of_descriptors_backs_off_and_recovers() -> None:
    proc = spawn_python(EMFILE_SCRIPT)
    clients: list[socket.socket] = []
    try:
        assert proc.stdout is not None and proc.stdin is not None
        port = int(proc.stdout.readline())
        for _ in range(120):  # more than the sender's 64 descriptors
            clients.append(connect_client(port))
        time.sleep(0.5)  # noqa: TID251 - let the sender run into EMFILE
        before = cpu_seconds(proc.pid)
        time.sleep(2.0)  # noqa: TID251 - CPU measurement window
        used = cpu_seconds(proc.pid) - before
        assert used < 0.5, f"{used:.2f} s of CPU in 2 s while out of descriptors"
        for sock in clients:
            sock.close()
        clients.clear()
        # Recovered: a new client gets in and receives the replay.
        late = connect_client(port)
        dec = FrameDecoder()
        while (frame := dec.next_frame()) is None:
            data = late.recv(1 << 16)
            assert data, "connection closed without data"
            dec.feed(data)
        assert frame.type == G3FrameType.Wiring
        late.close()
        proc.stdin.write(b"go\n")
        proc.stdin.flush()
        out, err = finish(proc)
        failures = int(out.split()[0])
        assert failures >= 1, err
        # Rate-limited: a few lines, not one per failed accept() call.
        assert err.count("accept() failed") <= 10, err[-2000:]
    finally:
        for sock in clients:
            sock.close()
        proc.kill()
