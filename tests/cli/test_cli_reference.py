"""The command-line tools next to the real spt3g: an spt3g DAQ feeds them, spt3g reads their output.

spt3g runs in separate processes with hard time limits (its listen-mode
sender never closes client sockets and its reader holds the GIL while
waiting).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from clihelpers import TIMEOUT, g3stream_command, run_cli, unused_port

pytest.importorskip("spt3g")

pytestmark = pytest.mark.reference


def _spt3g(script: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(script), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


_SPT3G_DAQ = """
    import sys, time
    from spt3g import core

    port = int(sys.argv[1])
    state = {"i": 0}

    def source(frame):
        i = state["i"]
        state["i"] += 1
        if i == 0:
            f = core.G3Frame(core.G3FrameType.Observation)
            f["SourceName"] = "spt3g-daq"
            return [f]
        time.sleep(0.002)  # a live source: about 500 frames per second
        f = core.G3Frame(core.G3FrameType.Timepoint)
        f["SampleIndex"] = i
        f["EventHeader"] = core.G3Time(1_700_000_000 * core.G3Units.s + i * 655360)
        return [f]

    pipe = core.G3Pipeline()
    pipe.Add(source)
    pipe.Add(core.G3NetworkSender, hostname="*", port=port, max_queue_size=0)
    pipe.Run()
"""

_SPT3G_READ_FILE = """
    import sys
    from spt3g import core

    frames = list(core.G3File(sys.argv[1]))
    print(len(frames), " ".join(sorted({str(f.type) for f in frames})))
"""

_SPT3G_READ_STREAM = """
    import sys
    from spt3g import core

    types = {}
    for frame in core.G3File("tcp://127.0.0.1:" + sys.argv[1]):
        types[str(frame.type)] = types.get(str(frame.type), 0) + 1
    print(types.get("Timepoint", 0), types.get("Scan", 0), types.get("Observation", 0))
"""


def test_g3stream_records_an_spt3g_daq_and_spt3g_reads_the_file(tmp_path: Path) -> None:
    port = unused_port()
    daq = _spt3g(_SPT3G_DAQ, str(port))
    try:
        out = tmp_path / "from-spt3g.g3.gz"
        # the recorder retries until the spt3g sender is up, then stops after 200 frames
        rec = run_cli("record", f"tcp://127.0.0.1:{port}", str(out), "--reconnect", "-n", "200")
        assert rec.returncode == 0, rec.stderr
    finally:
        daq.kill()
        daq.communicate(timeout=TIMEOUT)
    reader = _spt3g(_SPT3G_READ_FILE, str(out))
    stdout, stderr = reader.communicate(timeout=TIMEOUT)
    assert reader.returncode == 0, stderr
    count, types = stdout.split(maxsplit=1)
    assert int(count) == 200
    # a late client gets the metadata first (spt3g's pipeline added a PipelineInfo frame)
    assert types.split() == ["Observation", "PipelineInfo", "Timepoint"]


def test_spt3g_reads_the_g3stream_simulated_daq_over_tcp() -> None:
    server = subprocess.Popen(
        [
            *g3stream_command(),
            "serve",
            "--simulate",
            "--fast",
            "--duration",
            "2",
            "--samples-per-scan",
            "61",
            "--port",
            "0",
            "--wait-for-client",
            "1",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        assert line.startswith("serving on port"), line
        port = line.split()[-1]
        reader = _spt3g(_SPT3G_READ_STREAM, port)
        stdout, stderr = reader.communicate(timeout=TIMEOUT)
        assert reader.returncode == 0, stderr
        timepoints, scans, observations = map(int, stdout.split())
        assert timepoints == round(2 * 152.587890625)
        assert scans == -(-timepoints // 61)
        assert observations == 1
        assert server.wait(TIMEOUT) == 0
    finally:
        if server.poll() is None:
            server.kill()
        server.communicate(timeout=TIMEOUT)
