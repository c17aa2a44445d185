"""Liveness in the command-line tools: ``stats --json`` state fields, the status on a
disconnect, configurable sequence and time keys, ``--skip-key``, and the reconnect options."""

from __future__ import annotations

import argparse
import json
import socket
from pathlib import Path

from clihelpers import TIMEOUT, run_cli, write_frames

from g3stream import G3Frame, G3FrameType, G3Time
from g3stream.cli.inputs import add_reader_options, reader_options
from g3stream.codec.decoder import FrameDecoder
from g3stream.io import G3Reader
from g3stream.net import TcpSource


def _timepoints(n: int, start: int = 0) -> bytes:
    out = b""
    for i in range(start, start + n):
        f = G3Frame(G3FrameType.Timepoint)
        f["SampleIndex"] = i
        out += bytes(f.encoded())
    return out


def _send(port: int, data: bytes) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as sock:
        sock.sendall(data)


def test_stats_json_follows_a_disconnect_and_a_reconnect(background) -> None:
    stats = background(["stats", "--json", "--interval", "0.1", "--reconnect", "tcp://*:0"])
    port = int(stats.wait_for_line(r"listening on port (\d+)", stderr=True).group(1))
    first = json.loads(stats.wait_for_line(r"^\{").string)
    assert first["state"] == "listening" and first["connected"] is False
    assert first["reconnects"] == 0 and first["last_frame_age_s"] is None
    assert first["partial_frames_discarded"] == 0
    _send(port, _timepoints(5))  # the sender delivers and goes away
    line = stats.wait_for_line(r'"state":"reconnecting"')
    snap = json.loads(line.string)
    assert snap["connected"] is False and snap["outages"] == 1 and snap["frames"] == 5
    assert "reconnecting" in snap["status"]
    assert snap["last_frame_age_s"] >= 0
    _send(port, _timepoints(3, start=5))  # the restarted sender
    line = stats.wait_for_line(r'"reconnects":1,.*"frames":8\b')
    assert json.loads(line.string)["types"]["Timepoint"]["dropped"] == 0
    assert stats.interrupt() == 0


def test_stats_text_status_says_reconnecting(background) -> None:
    stats = background(["stats", "--interval", "0.1", "--reconnect", "tcp://*:0"])
    port = stats.port()
    _send(port, _timepoints(2))
    line = stats.wait_for_line(r"connection lost, reconnecting")
    assert "reconnects 0" in line.string
    assert stats.interrupt() == 0


def _so_stream(path: Path) -> None:
    """Scan frames numbered by frame_num and stamped by time (SO's names): three frames
    missing after the 20th, and the clock jumping with them."""
    frames = []
    t = 1_700_000_000 * 100_000_000
    for i in range(30):
        f = G3Frame(G3FrameType.Scan)
        f["frame_num"] = i if i < 20 else i + 3
        t += 10_000_000 * (4 if i == 20 else 1)
        f["time"] = G3Time(t)
        frames.append(f)
    write_frames(path, frames)


def test_stats_sequence_and_time_keys_are_configurable(tmp_path: Path, background) -> None:
    path = tmp_path / "so.g3"
    _so_stream(path)
    results = {}
    for extra in ([], ["--seq-key", "frame_num", "--time-key", "time"]):
        source = background(["serve", str(path), "--port", "0", "--wait-for-client", "1"])
        port = source.port()
        r = run_cli("stats", "--json", "--interval", "0.2", f"tcp://127.0.0.1:{port}", *extra)
        assert r.returncode == 0, r.stderr
        assert source.wait() == 0
        results[bool(extra)] = json.loads(r.stdout.splitlines()[-1])
    assert results[False]["types"]["Scan"]["dropped"] == 0  # default keys: nothing seen
    assert results[False]["gaps"] == 0
    last = results[True]
    assert last["types"]["Scan"]["dropped"] == 3
    assert last["gaps"] == 1
    assert abs(last["longest_gap"] - 0.4) < 1e-6
    assert last["state"] == "ended"


def _with_keepalives(path: Path) -> bytes:
    frames = []
    for i in range(12):
        f = G3Frame(G3FrameType.Scan)
        f["frame_num"] = i
        frames.append(f)
        if i % 4 == 0:
            k = G3Frame(G3FrameType.Scan)
            k["sostream_flowcontrol"] = 1
            frames.append(k)
    return write_frames(path, frames)


def test_record_skip_key_leaves_keepalive_frames_out(tmp_path: Path, background) -> None:
    path = tmp_path / "idle.g3"
    _with_keepalives(path)
    out = tmp_path / "rec.g3"
    source = background(["serve", str(path), "--port", "0", "--wait-for-client", "1"])
    port = source.port()
    r = run_cli("record", f"tcp://127.0.0.1:{port}", str(out), "--skip-key", "sostream_flowcontrol")
    assert r.returncode == 0, r.stderr
    assert source.wait() == 0
    dec = FrameDecoder()
    dec.feed(out.read_bytes())
    frames = dec.frames()
    assert [f["frame_num"] for f in frames] == list(range(12))
    assert "skipped 3 frames with sostream_flowcontrol" in r.stderr  # counted, not silent


def test_stats_skip_key_does_not_count_keepalive_frames(tmp_path: Path, background) -> None:
    path = tmp_path / "idle.g3"
    _with_keepalives(path)
    source = background(["serve", str(path), "--port", "0", "--wait-for-client", "1"])
    port = source.port()
    r = run_cli(
        "stats",
        "--json",
        "--interval",
        "0.2",
        f"tcp://127.0.0.1:{port}",
        "--skip-key",
        "sostream_flowcontrol",
    )
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout.splitlines()[-1])["frames"] == 12
    assert source.wait() == 0


def test_reconnect_options_reach_the_tcp_source() -> None:
    parser = argparse.ArgumentParser()
    add_reader_options(parser)
    args = parser.parse_args(
        ["--reconnect", "--retry-interval", "0.2", "--max-backoff", "3", "--keepalive", "0"]
    )
    with G3Reader("tcp://*:0", **reader_options(args)) as reader:  # as the commands open it
        src = reader._source
        assert isinstance(src, TcpSource) and src.reconnect
        assert src.initial_backoff == 0.2 and src.max_backoff == 3.0
        assert src.keepalive_idle is None  # 0 turns keep-alive off
    with G3Reader("tcp://*:0", **reader_options(parser.parse_args(["--keepalive", "30"]))) as r:
        assert isinstance(r._source, TcpSource)
        assert r._source.keepalive_idle == 30.0 and not r._source.reconnect


def test_reconnect_options_reject_negative_times(tmp_path: Path) -> None:
    for option in ("--retry-interval", "--max-backoff", "--keepalive"):
        r = run_cli("record", "tcp://127.0.0.1:1", str(tmp_path / "x.g3"), option, "-1")
        assert r.returncode == 2, (option, r.stderr)
        assert "0 or more" in r.stderr
    assert not (tmp_path / "x.g3").exists()
