"""spt3g's own G3NetworkSender -> ``g3stream relay --to nats://`` -> readers and a recorded file.

spt3g runs in subprocesses (its listening sender holds sockets until exit).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest
from natshelpers import deliveries
from natsservers import free_port, wait_for

from g3stream.io import G3Writer
from g3stream.nats import NatsSource

pytest.importorskip("spt3g")
pytestmark = pytest.mark.reference

N = 400

SPT3G_SENDER = """
import sys
import numpy as np
from spt3g import core
port, path, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
def make(i):
    if i == 0:
        f = core.G3Frame(core.G3FrameType.Wiring)
    elif i % 50 == 1:
        f = core.G3Frame(core.G3FrameType.Calibration)
    else:
        f = core.G3Frame(core.G3FrameType.Scan if i % 5 == 0 else core.G3FrameType.Timepoint)
    f['seq'] = i
    f['data'] = core.G3VectorDouble(np.arange(200, dtype=np.float64) + i)
    return f
frames = [make(i) for i in range(n)]
sender = core.G3NetworkSender(hostname='*', port=port)
writer = core.G3Writer(path)
print('ready', flush=True)
sys.stdin.readline()                      # the relay is connected
for f in frames:
    sender(f)
    writer(f)
end = core.G3Frame(core.G3FrameType.EndProcessing)
sender(end)
writer(end)
"""

SPT3G_FILE_READER = """
import json, sys
from spt3g import core
out = [[int(f.type), int(f['seq']), list(f['data'])[:3]] for f in core.G3File(sys.argv[1])]
print(json.dumps(out))
"""


def _accepted_connections(port: int) -> int:
    """Established TCP connections to loopback ``port`` (a listener's side, from /proc)."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            local, state = line.split()[1], line.split()[3]
            if state == "01" and int(local.rsplit(":", 1)[1], 16) == port:
                count += 1
    return count


def _stream_exists(server_url: str, stream: str) -> bool:
    import nats

    async def check() -> bool:
        nc = await nats.connect(server_url)
        try:
            await nc.jetstream().stream_info(stream)
            return True
        except nats.js.errors.NotFoundError:
            return False
        finally:
            await nc.close()

    return asyncio.run(check())


def test_spt3g_sender_through_relay_into_jetstream_is_read_and_recorded_identically(
    nats_server, tmp_path: Path
):
    port = free_port()
    spt3g_file = tmp_path / "spt3g.g3"
    sender = subprocess.Popen(
        [sys.executable, "-c", SPT3G_SENDER, str(port), str(spt3g_file), str(N)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    relay = None
    try:
        assert sender.stdout is not None and sender.stdin is not None
        assert sender.stdout.readline().strip() == b"ready"
        nats_url = f"{nats_server.url}/DAQ"
        relay = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "g3stream",
                "relay",
                f"tcp://127.0.0.1:{port}",
                "--to",
                nats_url,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        wait_for(lambda: _stream_exists(nats_server.url, "DAQ"), 60, "the relay's stream")
        # spt3g takes a waiting client in at its next frame: the relay must be
        # connected before the frames start, not only have made its stream
        wait_for(lambda: _accepted_connections(port) >= 1, 60, "the relay's connection")
        sender.stdin.write(b"go\n")
        sender.stdin.flush()
        _, err = relay.communicate(timeout=90)
        assert relay.returncode == 0, err.decode()
    finally:
        for proc in (sender, relay):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait(10)
    reference = spt3g_file.read_bytes()

    # a g3stream reader gets spt3g's exact bytes, in order
    src = NatsSource(f"{nats_url}?start=first")
    try:
        frames = list(deliveries(src, N))
    finally:
        src.close()
    assert b"".join(bytes(f.encoded()) for f in frames) == reference

    # and a file recorded from the stream reads back in spt3g as what spt3g sent
    recorded = tmp_path / "recorded.g3"
    with G3Writer(recorded) as writer:
        for f in frames:
            writer(f)
    out = subprocess.run(
        [sys.executable, "-c", SPT3G_FILE_READER, str(recorded)],
        capture_output=True,
        timeout=60,
        check=True,
    )
    got = json.loads(out.stdout)
    assert [g[1] for g in got] == list(range(N))
    assert got[0][0] == ord("W") and got[1][0] == ord("C") and got[5][0] == ord("S")
    assert got[7][2] == [7.0, 8.0, 9.0]
