"""``g3stream dump``, end to end through the console script."""

from __future__ import annotations

import gzip
import json
import subprocess
from pathlib import Path

from clihelpers import (
    TIMEOUT,
    g3stream_command,
    run_cli,
    run_cli_bytes,
    unused_port,
    write_frames,
)

from g3stream import G3Frame, G3FrameType

VECTORS = Path(__file__).parent.parent / "vectors"


def _numbered_frames(n: int) -> list[G3Frame]:
    frames = []
    for i in range(n):
        f = G3Frame(G3FrameType.Timepoint if i % 2 else G3FrameType.Scan)
        f["index"] = i
        f["label"] = f"frame {i}"
        frames.append(f)
    return frames


def test_dump_prints_frames_like_spt3g_dump() -> None:
    r = run_cli("dump", str(VECTORS / "test-le.g3"))
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "Frame (None) ["
    assert '"Five" (G3Int) => 5' in lines
    assert '"Vec" (G3VectorDouble) => [2.6, 7.2]' in lines
    assert lines[-1] == "]"


def test_dump_json_matches_the_vector_frames() -> None:
    expected = json.loads((VECTORS / "frame_types.json").read_text())["frames"]
    r = run_cli("dump", "--json", str(VECTORS / "frame_types.g3"))
    assert r.returncode == 0, r.stderr
    got = [json.loads(line) for line in r.stdout.splitlines()]
    assert len(got) == len(expected)
    for g, e in zip(got, expected, strict=True):
        for field in ("type_code", "type", "crc", "endian"):
            assert g[field] == e[field]
        assert [x["key"] for x in g["entries"]] == [x["key"] for x in e["entries"]]
        assert [x["value"] for x in g["entries"]] == [x["value"] for x in e["entries"]]


def test_dump_limit_and_type_filter(tmp_path: Path) -> None:
    path = tmp_path / "numbered.g3"
    write_frames(path, _numbered_frames(10))
    r = run_cli("dump", "--json", "-n", "3", "--type", "Timepoint", str(path))
    assert r.returncode == 0, r.stderr
    frames = [json.loads(line) for line in r.stdout.splitlines()]
    assert [f["type"] for f in frames] == ["Timepoint"] * 3
    indices = [
        next(e["value"]["value"] for e in f["entries"] if e["key"] == "index") for f in frames
    ]
    assert indices == [1, 3, 5]
    # the one-letter code and several types at once
    r = run_cli("dump", "-t", "S", "-t", "Timepoint", "-n", "4", str(path))
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("Frame (") == 4


def test_dump_reads_stdin_and_compressed_files(tmp_path: Path) -> None:
    data = write_frames(tmp_path / "plain.g3", _numbered_frames(5))
    r = run_cli_bytes("dump", "-", input=data)
    assert r.returncode == 0, r.stderr
    assert r.stdout.count(b"Frame (") == 5
    gz = tmp_path / "packed.g3.gz"
    gz.write_bytes(gzip.compress(data))
    r2 = run_cli("dump", str(gz), str(tmp_path / "plain.g3"))
    assert r2.returncode == 0, r2.stderr
    assert r2.stdout.count("Frame (") == 10
    assert r2.stdout.encode() == r.stdout * 2


def test_dump_errors_have_exit_codes(tmp_path: Path) -> None:
    missing = run_cli("dump", str(tmp_path / "nope.g3"))
    assert missing.returncode == 1
    assert "nope.g3" in missing.stderr and "no such file" in missing.stderr

    data = write_frames(tmp_path / "ok.g3", _numbered_frames(3))
    cut = tmp_path / "cut.g3"
    cut.write_bytes(data[:-7])
    truncated = run_cli("dump", str(cut))
    assert truncated.returncode == 1
    assert "byte offset" in truncated.stderr
    assert truncated.stdout.count("Frame (") == 2  # the good frames came out first

    junk = tmp_path / "junk.g3"
    junk.write_bytes(b"HTTP/1.1 200 OK\r\n\r\n" * 10)
    bad = run_cli("dump", str(junk))
    assert bad.returncode == 1
    assert "bad data" in bad.stderr

    for args in (["dump"], ["dump", "--type", "toolong", "x.g3"], ["dump", "-n", "-1", "x.g3"]):
        usage = run_cli(*args)
        assert usage.returncode == 2, args
        assert "usage:" in usage.stderr
    badurl = run_cli("dump", "tcp://localhost")
    assert badurl.returncode == 2
    assert "port" in badurl.stderr

    port = unused_port()
    refused = run_cli("dump", f"tcp://127.0.0.1:{port}")
    assert refused.returncode == 1
    assert f"127.0.0.1:{port}" in refused.stderr and "refused" in refused.stderr
    unknown = run_cli("dump", "tcp://no-such-host.invalid:4536")
    assert unknown.returncode == 1
    assert "no-such-host.invalid" in unknown.stderr


def test_dump_into_a_closed_pipe_exits_quietly(tmp_path: Path) -> None:
    path = tmp_path / "many.g3"
    write_frames(path, _numbered_frames(20000))
    proc = subprocess.Popen(
        [*g3stream_command(), "dump", str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().startswith(b"Frame (")
    proc.stdout.close()  # like `| head -1`
    _, err = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 0
    assert b"Traceback" not in err
