"""``serve``, ``record``, ``relay``, ``stats`` and ``demo`` on real loopback sockets.

Every process is the real console command.  Synchronisation is on the lines
the commands print (``serving on port N``), on process exit, and on the
frames that arrive; every wait has a timeout.
"""

from __future__ import annotations

import gzip
import json
import lzma
import re
import socket
import subprocess
import sys
import threading
from pathlib import Path

from clihelpers import (
    TIMEOUT,
    frame_offsets,
    g3stream_command,
    run_cli,
    run_cli_bytes,
    unused_port,
    write_frames,
)

from g3stream import G3Frame, G3FrameType
from g3stream.codec.container import encode_frame_bytes
from g3stream.codec.decoder import FrameDecoder


def _frames(n: int) -> list[G3Frame]:
    """An Observation frame, then numbered Scan and Timepoint frames."""
    obs = G3Frame(G3FrameType.Observation)
    obs["source"] = "test"
    out = [obs]
    for i in range(n):
        f = G3Frame(G3FrameType.Scan if i % 3 == 0 else G3FrameType.Timepoint)
        f["SampleIndex"] = i
        f["data"] = "y" * 200
        out.append(f)
    return out


def _decode(data: bytes) -> list[G3Frame]:
    dec = FrameDecoder()
    dec.feed(data)
    frames = dec.frames()
    dec.close()
    return frames


def _json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def _sample_indices(frames: list[dict]) -> list[int]:
    out = []
    for f in frames:
        for e in f["entries"]:
            if e["key"] == "SampleIndex":
                out.append(e["value"]["value"])
    return out


# -- serve ------------------------------------------------------------------


def test_serve_file_to_dump_client(tmp_path: Path, background) -> None:
    path = tmp_path / "src.g3"
    data = write_frames(path, _frames(30))
    server = background(["serve", str(path), "--port", "0", "--wait-for-client", "1"])
    port = server.port()
    client = run_cli("dump", "--json", f"tcp://127.0.0.1:{port}")
    assert client.returncode == 0, client.stderr
    got = _json_lines(client.stdout)
    want = _json_lines(run_cli("dump", "--json", str(path)).stdout)
    assert len(got) == len(_decode(data)) == 31
    assert got == want
    assert server.wait() == 0  # the file was served; the server ends by itself


def test_serve_simulated_daq_with_decimation(background) -> None:
    server = background(
        [
            "serve",
            "--simulate",
            "--fast",
            "--port",
            "0",
            "--decimate",
            "Timepoint=10",
            "--samples-per-scan",
            "50",
            "--detectors",
            "4",
        ]
    )
    port = server.port()
    r = run_cli("dump", "--json", "-n", "25", "--type", "Timepoint", f"tcp://127.0.0.1:{port}")
    assert r.returncode == 0, r.stderr
    indices = _sample_indices(_json_lines(r.stdout))
    assert len(indices) == 25
    # every 10th Timepoint is sent (the 10th, 20th, ... frame of the type)
    assert all(b - a == 10 for a, b in zip(indices, indices[1:], strict=False))
    assert server.interrupt() == 0
    assert "Traceback" not in server.stderr


def test_serve_loop_and_rate_then_ctrl_c(tmp_path: Path, background) -> None:
    path = tmp_path / "small.g3"
    write_frames(path, _frames(4))
    server = background(["serve", str(path), "--loop", "--rate", "200", "--port", "0"])
    port = server.port()
    r = run_cli("dump", "--json", "-n", "15", f"tcp://127.0.0.1:{port}")
    assert r.returncode == 0, r.stderr
    assert len(_json_lines(r.stdout)) == 15  # more than one pass of the 5-frame file
    assert server.interrupt() == 0


def test_serve_usage_errors(tmp_path: Path) -> None:
    for args in (
        ["serve", "--port", "0"],
        ["serve", "--simulate", "x.g3", "--port", "0"],
        ["serve", "--simulate"],
        ["serve", "--simulate", "--port", "70000"],
        ["serve", "--simulate", "--port", "0", "--decimate", "Timepoint"],
        ["serve", "tcp://127.0.0.1:5", "--port", "0"],
    ):
        r = run_cli(*args)
        assert r.returncode == 2, (args, r.stderr)
    missing = run_cli("serve", str(tmp_path / "none.g3"), "--port", "0")
    assert missing.returncode == 1
    assert "none.g3" in missing.stderr


def test_serve_port_in_use_is_a_clear_error(background) -> None:
    first = background(["serve", "--simulate", "--port", "0", "--host", "*"])
    port = first.port()
    second = run_cli("serve", "--simulate", "--port", str(port))
    assert second.returncode == 1
    assert str(port) in second.stderr or "in use" in second.stderr
    assert first.interrupt() == 0


# -- record -----------------------------------------------------------------


def test_record_is_byte_identical_to_the_served_file(tmp_path: Path, background) -> None:
    path = tmp_path / "src.g3"
    data = write_frames(path, _frames(40))
    server = background(["serve", str(path), "--port", "0", "--wait-for-client", "1"])
    port = server.port()
    out = tmp_path / "rec.g3"
    r = run_cli("record", f"tcp://127.0.0.1:{port}", str(out))
    assert r.returncode == 0, r.stderr
    assert "recorded 41 frames" in r.stderr
    # the same bytes as a file-to-file copy by G3Writer (and by spt3g: a frame that is
    # read and written again keeps its blobs but takes the rewritten entry order)
    assert out.read_bytes() == b"".join(encode_frame_bytes(f) for f in _decode(data))
    assert server.wait() == 0


def test_record_rotates_compressed_files(tmp_path: Path, background) -> None:
    path = tmp_path / "src.g3"
    data = write_frames(path, _frames(60))
    server = background(["serve", str(path), "--port", "0", "--wait-for-client", "1"])
    port = server.port()
    pattern = tmp_path / "part.g3"
    r = run_cli("record", f"tcp://127.0.0.1:{port}", str(pattern), "--size-limit", "4k")
    assert r.returncode == 0, r.stderr
    parts = sorted(tmp_path.glob("part-*.g3"))
    assert len(parts) > 1
    v = run_cli("verify", *map(str, parts))
    assert v.returncode == 0, v.stderr
    # every data frame was recorded once, in order, across the files
    indices = []
    for part in parts:
        d = run_cli("dump", "--json", "--type", "Timepoint", "--type", "Scan", str(part))
        indices += _sample_indices(_json_lines(d.stdout))
    assert indices == list(range(60))
    assert len(frame_offsets(data)) == 61
    assert server.wait() == 0

    # compression follows the extension
    server = background(["serve", str(path), "--port", "0", "--wait-for-client", "1"])
    port = server.port()
    packed = tmp_path / "whole.g3.gz"
    r = run_cli("record", f"tcp://127.0.0.1:{port}", str(packed))
    assert r.returncode == 0, r.stderr
    assert packed.read_bytes()[:2] == b"\x1f\x8b"
    assert len(_decode(gzip.decompress(packed.read_bytes()))) == 61
    assert server.wait() == 0


def test_record_to_stdout_pipes_into_dump(tmp_path: Path, background) -> None:
    path = tmp_path / "src.g3"
    data = write_frames(path, _frames(10))
    server = background(["serve", str(path), "--port", "0", "--wait-for-client", "1"])
    port = server.port()
    rec = run_cli_bytes("record", f"tcp://127.0.0.1:{port}", "-")
    assert rec.returncode == 0, rec.stderr
    assert rec.stdout == data
    dump = run_cli_bytes("dump", "-", input=rec.stdout)
    assert dump.stdout.count(b"Frame (") == 11


def test_record_survives_sender_restarts(tmp_path: Path, background) -> None:
    path = tmp_path / "src.g3"
    write_frames(path, _frames(20))
    out = tmp_path / "live.g3"
    recorder = background(["record", "tcp://*:0", str(out), "--reconnect", "-n", "42"])
    port = recorder.port()
    for _ in range(2):  # the DAQ side connects, sends its file and goes away, twice
        sender = run_cli("serve", str(path), "--host", "127.0.0.1", "--port", str(port))
        assert sender.returncode == 0, sender.stderr
    assert recorder.wait() == 0, recorder.stderr
    frames = _decode(out.read_bytes())
    assert len(frames) == 42
    assert [f["SampleIndex"] for f in frames if "SampleIndex" in f] == list(range(20)) * 2


def test_record_stops_cleanly_on_ctrl_c(tmp_path: Path, background) -> None:
    source = background(["serve", "--simulate", "--port", "0", "--detectors", "4"])
    port = source.port()
    out = tmp_path / "night.g3.xz"
    recorder = background(["record", f"tcp://127.0.0.1:{port}", str(out)])
    recorder.wait_for_line(r"^recording tcp://127.0.0.1:\d+ to .*night.g3.xz")  # data arrives
    assert recorder.interrupt() == 0, recorder.stderr
    assert source.interrupt() == 0
    v = run_cli("verify", str(out))
    assert v.returncode == 0, v.stderr
    frames = _decode(lzma.decompress(out.read_bytes()))
    # a valid file holding what arrived before Ctrl-C, starting with the metadata
    assert frames and str(frames[0].type) == "Observation"


def test_record_unreachable_source(tmp_path: Path) -> None:
    port = unused_port()
    r = run_cli("record", f"tcp://127.0.0.1:{port}", str(tmp_path / "x.g3"))
    assert r.returncode == 1
    assert str(port) in r.stderr
    assert not (tmp_path / "x.g3").exists()  # no empty file left behind
    assert run_cli("record", "notaurl", str(tmp_path / "x.g3")).returncode == 2
    assert run_cli("record", "tcp://127.0.0.1:1", "-", "--size-limit", "1M").returncode == 2


# -- relay ------------------------------------------------------------------


def test_relay_fans_out_to_several_clients(background) -> None:
    source = background(["serve", "--simulate", "--port", "0", "--rate", "500", "--detectors", "4"])
    src_port = source.port()
    relay = background(["relay", f"tcp://127.0.0.1:{src_port}", "--port", "0"])
    relay_port = relay.port()
    clients = [
        background(["dump", "--json", "-n", "40", f"tcp://127.0.0.1:{relay_port}"])
        for _ in range(3)
    ]
    for c in clients:
        assert c.wait() == 0, c.stderr
        frames = _json_lines(c.stdout)
        assert len(frames) == 40
        # a late client first gets the metadata, then consecutive live samples
        types = [f["type"] for f in frames]
        assert types[:3] == ["Observation", "Wiring", "Calibration"]
        idx = _sample_indices([f for f in frames if f["type"] == "Timepoint"])
        assert idx == list(range(idx[0], idx[0] + len(idx)))
    assert relay.interrupt() == 0
    assert source.interrupt() == 0


def test_relay_ends_when_upstream_ends(tmp_path: Path, background) -> None:
    path = tmp_path / "src.g3"
    write_frames(path, _frames(5))
    source = background(["serve", str(path), "--port", "0", "--wait-for-client", "1"])
    port = source.port()
    relay = background(["relay", f"tcp://127.0.0.1:{port}", "--port", "0"])
    relay.port()
    assert relay.wait() == 0
    assert source.wait() == 0
    unreachable = run_cli("relay", f"tcp://127.0.0.1:{unused_port()}", "--port", "0")
    assert unreachable.returncode == 1


# -- stats and demo ---------------------------------------------------------


def test_stats_shows_rates_per_type(background) -> None:
    source = background(
        ["serve", "--simulate", "--port", "0", "--samples-per-scan", "20", "--detectors", "4"]
    )
    port = source.port()
    stats = background(
        ["stats", f"tcp://127.0.0.1:{port}", "--interval", "0.3", "--duration", "60"]
    )
    m = stats.wait_for_line(r"Timepoint: (\d+) frames ([\d.]+)/s .* dropped (\d+)")
    line = m.string
    assert "Observation: 1 frames" in line
    assert "gaps 0" in line
    # rates settle near the 152.6 Hz sample rate and nothing is dropped
    # after 500 frames (over 3 s) the rate is measured over a full window of the live stream
    m = stats.wait_for_line(r"Timepoint: (?:[5-9]\d\d|\d{4,}) frames ([\d.]+)/s")
    assert 100 < float(m.group(1)) < 200
    assert re.search(r"Scan: \d+ frames [\d.]+/s .* dropped 0", m.string)
    assert stats.interrupt() == 0
    assert "Traceback" not in stats.stderr
    assert source.interrupt() == 0


def test_stats_ends_with_the_stream_and_reports_unreachable(tmp_path: Path, background) -> None:
    path = tmp_path / "src.g3"
    write_frames(path, _frames(5))
    source = background(["serve", str(path), "--port", "0", "--wait-for-client", "1"])
    port = source.port()
    r = run_cli("stats", f"tcp://127.0.0.1:{port}", "--interval", "0.2")
    assert r.returncode == 0, r.stderr
    assert "stream ended" in r.stdout
    assert "total 6 frames" in r.stdout.splitlines()[-1]
    bad = run_cli("stats", f"tcp://127.0.0.1:{unused_port()}")
    assert bad.returncode == 1
    assert "refused" in bad.stderr


def test_demo_runs_and_ends_by_itself(background) -> None:
    demo = background(["demo", "--duration", "2", "--interval", "0.5"])
    demo.wait_for_line(r"serving on port \d+")
    m = demo.wait_for_line(r"demo finished: received (\d+) frames .*; (\d+) frames sent")
    assert int(m.group(1)) > 100
    # the monitor connects before the DAQ starts: it receives every frame sent
    assert int(m.group(1)) == int(m.group(2))
    assert demo.wait() == 0
    assert any("Timepoint:" in line and "Scan:" in line for line in demo.stdout_lines)
    assert "Traceback" not in demo.stderr


def test_demo_stops_on_ctrl_c(background) -> None:
    demo = background(["demo", "--duration", "600", "--interval", "0.2"])
    demo.wait_for_line(r"Timepoint: \d+ frames")
    assert demo.interrupt(timeout=20) == 0
    assert "demo finished" in demo.stdout
    assert "Traceback" not in demo.stderr


# -- more paths ---------------------------------------------------------------


def test_dump_listens_for_a_sender_and_stops_on_ctrl_c(tmp_path: Path, background) -> None:
    path = tmp_path / "src.g3"
    write_frames(path, _frames(8))
    dump = background(["dump", "--json", "tcp://*:0"])
    m = dump.wait_for_line(r"listening on port (\d+)", stderr=True)
    sender = run_cli("serve", str(path), "--host", "127.0.0.1", "--port", m.group(1))
    assert sender.returncode == 0, sender.stderr
    assert dump.wait() == 0  # the sender closed at a frame boundary: the end of the stream
    assert len(_json_lines(dump.stdout)) == 9

    source = background(["serve", "--simulate", "--port", "0", "--detectors", "2"])
    port = source.port()
    live = background(["dump", f"tcp://127.0.0.1:{port}"])
    live.wait_for_line(r"^Frame \(Timepoint\)")
    assert live.interrupt() == 130  # interrupted before the end of its input
    assert "Traceback" not in live.stderr
    assert source.interrupt() == 0


def test_record_duration_and_serve_from_stdin(tmp_path: Path, background) -> None:
    source = background(["serve", "--simulate", "--port", "0", "--detectors", "2"])
    port = source.port()
    out = tmp_path / "short.g3"
    r = run_cli("record", f"tcp://127.0.0.1:{port}", str(out), "--duration", "1")
    assert r.returncode == 0, r.stderr
    frames = _decode(out.read_bytes())
    timepoints = sum(f.type == G3FrameType.Timepoint for f in frames)
    assert 50 < timepoints < 400  # about one second at 152.6 Hz
    assert source.interrupt() == 0

    # `serve -` re-serves a stream read from standard input
    recorder = background(["record", "tcp://*:0", str(tmp_path / "piped.g3")])
    rport = recorder.port()
    data = out.read_bytes()
    feeder = subprocess.run(
        [*g3stream_command(), "serve", "-", "--host", "127.0.0.1", "--port", str(rport)],
        input=data,
        capture_output=True,
        timeout=TIMEOUT,
    )
    assert feeder.returncode == 0, feeder.stderr
    assert recorder.wait() == 0
    assert len(_decode((tmp_path / "piped.g3").read_bytes())) == len(frames)


def test_serve_bind_address_and_client_limit(background) -> None:
    server = background(
        ["serve", "--simulate", "--port", "0", "--bind", "127.0.0.1", "--max-clients", "1"]
    )
    port = server.port()
    first = background(["dump", f"tcp://127.0.0.1:{port}"])
    first.wait_for_line(r"^Frame \(Timepoint\)")
    second = run_cli("dump", "--json", f"tcp://127.0.0.1:{port}")
    assert second.returncode == 0, second.stderr
    assert _json_lines(second.stdout) == []  # turned away: the connection closes at once
    assert first.proc.poll() is None  # the first client is unaffected
    assert first.interrupt() == 130
    assert server.interrupt() == 0
    assert (
        run_cli("serve", "--simulate", "--port", "0", "--host", "h", "--bind", "::1").returncode
        == 2
    )


def test_record_reconnects_to_a_restarted_server(tmp_path: Path, background) -> None:
    path = tmp_path / "src.g3"
    write_frames(path, _frames(20))
    port = unused_port()
    out = tmp_path / "rec.g3"
    # the recorder starts first and keeps retrying until a server appears
    recorder = background(
        ["record", f"tcp://127.0.0.1:{port}", str(out), "--reconnect", "-n", "42"]
    )
    for _ in range(2):  # the server comes up, serves its file to the recorder, and exits
        server = background(["serve", str(path), "--port", str(port), "--wait-for-client", "1"])
        server.port()
        assert server.wait() == 0, server.stderr
    assert recorder.wait() == 0, recorder.stderr
    frames = _decode(out.read_bytes())
    assert [f["SampleIndex"] for f in frames if "SampleIndex" in f] == list(range(20)) * 2


def test_module_entry_point_and_version() -> None:
    r = subprocess.run(
        [sys.executable, "-m", "g3stream", "--version"],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert r.returncode == 0
    assert r.stdout.startswith("g3stream ")
    assert run_cli("--version").stdout == r.stdout
    assert run_cli().returncode == 2
    assert run_cli("nonsense").returncode == 2


def test_sigterm_stops_servers_and_recorders_cleanly(tmp_path: Path, background) -> None:
    source = background(["serve", "--simulate", "--port", "0", "--detectors", "2"])
    port = source.port()
    out = tmp_path / "until-term.g3.gz"
    recorder = background(["record", f"tcp://127.0.0.1:{port}", str(out)])
    recorder.wait_for_line(r"^recording ")
    assert recorder.terminate() == 0, recorder.stderr
    assert source.terminate() == 0, source.stderr
    v = run_cli("verify", str(out))
    assert v.returncode == 0, v.stderr  # the compressed file was closed properly


def _one_shot_server(payload: bytes) -> tuple[int, threading.Thread]:
    """A plain TCP server on loopback that sends ``payload`` to one client, then closes."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.settimeout(TIMEOUT)

    def serve() -> None:
        with listener:
            conn, _ = listener.accept()
            with conn:
                conn.sendall(payload)

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    return listener.getsockname()[1], t


def test_bad_data_and_cut_streams_from_the_network(tmp_path: Path) -> None:
    port, t = _one_shot_server(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n" * 4)
    r = run_cli("dump", f"tcp://127.0.0.1:{port}")
    t.join(TIMEOUT)
    assert r.returncode == 1
    assert "bad data" in r.stderr and "offset" in r.stderr

    data = write_frames(tmp_path / "src.g3", _frames(3))
    cut = data[: frame_offsets(data)[3] + 20]  # three whole frames and a piece of the fourth
    port, t = _one_shot_server(cut)
    r = run_cli("stats", f"tcp://127.0.0.1:{port}", "--interval", "0.2")
    t.join(TIMEOUT)
    assert r.returncode == 1
    assert "bad data" in r.stderr
    assert f"offset {frame_offsets(data)[3]}" in r.stderr

    port, t = _one_shot_server(cut)
    out = tmp_path / "partial.g3"
    r = run_cli("record", f"tcp://127.0.0.1:{port}", str(out))
    t.join(TIMEOUT)
    assert r.returncode == 1
    assert len(_decode(out.read_bytes())) == 3  # what came whole is on disk, in a valid file


def test_record_divides_files_on_a_frame_type(tmp_path: Path, background) -> None:
    path = tmp_path / "two-observations.g3"
    write_frames(path, _frames(5) + _frames(5))
    server = background(["serve", str(path), "--port", "0", "--wait-for-client", "1"])
    port = server.port()
    pattern = tmp_path / "obs-%02u.g3"
    r = run_cli(
        "record",
        f"tcp://127.0.0.1:{port}",
        str(pattern),
        "--size-limit",
        "1G",
        "--divide-on",
        "Observation",
    )
    assert r.returncode == 0, r.stderr
    parts = sorted(tmp_path.glob("obs-*.g3"))
    assert [p.name for p in parts] == ["obs-00.g3", "obs-01.g3"]
    for part in parts:
        frames = _decode(part.read_bytes())
        assert str(frames[0].type) == "Observation" and len(frames) == 6
    assert server.wait() == 0

    url = f"tcp://127.0.0.1:{unused_port()}"
    for args in (
        [url, str(tmp_path / "out.dat")],
        [url, str(tmp_path / "x.g3"), "--divide-on", "toolong"],
        [url, str(tmp_path / "single-%04u.g3")],  # a file number, but only one file
        [url, str(tmp_path / "x-{n}.g3")],
        [url, str(tmp_path / "x-{nope}.g3"), "--size-limit", "1M"],
        [url, str(tmp_path / "x.g3"), "--rotate-aligned"],
    ):
        bad = run_cli("record", *args)
        assert bad.returncode == 2, (args, bad.stderr)
    assert list(tmp_path.glob("x*")) == list(tmp_path.glob("single*")) == []
    assert not (tmp_path / "out.dat").exists()


def test_stats_json_lines_and_listen_mode(tmp_path: Path, background) -> None:
    path = tmp_path / "src.g3"
    write_frames(path, _frames(30))
    stats = background(["stats", "--json", "--interval", "0.2", "tcp://*:0"])
    m = stats.wait_for_line(r"listening on port (\d+)", stderr=True)
    sender = run_cli("serve", str(path), "--host", "127.0.0.1", "--port", m.group(1))
    assert sender.returncode == 0, sender.stderr
    assert stats.wait() == 0
    snaps = [json.loads(line) for line in stats.stdout_lines]  # nothing but JSON on stdout
    last = snaps[-1]
    assert last["frames"] == 31
    assert last["types"]["Observation"]["frames"] == 1
    assert last["types"]["Scan"]["frames"] == 10
    assert last["types"]["Timepoint"]["dropped"] == 9  # every third index went to a Scan
    assert "stream ended" in last["status"]


def test_relay_forwards_the_original_bytes_to_every_client(tmp_path: Path, background) -> None:
    path = tmp_path / "src.g3"
    data = write_frames(path, _frames(50))
    source = background(["serve", str(path), "--port", "0", "--wait-for-client", "1"])
    src_port = source.port()
    relay = background(
        ["relay", f"tcp://127.0.0.1:{src_port}", "--port", "0", "--wait-for-client", "2"]
    )
    relay_port = relay.wait_for_line(r"serving on port (\d+)").group(1)
    clients = [
        background(["record", f"tcp://127.0.0.1:{relay_port}", "-"], stdout_binary=True)
        for _ in range(2)
    ]
    for c in clients:
        assert c.wait() == 0, c.stderr
        assert bytes(c.stdout_bytes) == data  # byte for byte, never re-encoded
    assert relay.wait() == 0
    assert source.wait() == 0


def test_simulated_stream_is_the_same_on_every_run(background) -> None:
    captures = []
    for _ in range(2):
        server = background(
            [
                "serve",
                "--simulate",
                "--fast",
                "--duration",
                "1",
                "--seed",
                "3",
                "--start-time",
                "2026-03-01T12:00:00",
                "--port",
                "0",
                "--wait-for-client",
                "1",
            ]
        )
        port = server.port()
        rec = run_cli_bytes("record", f"tcp://127.0.0.1:{port}", "-")
        assert rec.returncode == 0, rec.stderr
        assert server.wait() == 0
        captures.append(rec.stdout)
    assert captures[0] == captures[1]
    frames = _decode(captures[0])
    assert frames[0]["ObservationStart"].isoformat().startswith("2026-03-01T12:00:00")
    assert sum(f.type == G3FrameType.Timepoint for f in frames) == 153
    bad = run_cli("serve", "--simulate", "--port", "0", "--start-time", "yesterday")
    assert bad.returncode == 2


def test_stats_counts_gaps_in_the_time_stamps(tmp_path: Path, background) -> None:
    from g3stream import G3Time

    frames = []
    t = 1_700_000_000 * 100_000_000
    for i in range(40):
        f = G3Frame(G3FrameType.Timepoint)
        f["SampleIndex"] = i if i < 30 else i + 5  # five samples lost after the 30th
        t += 655_360 * (6 if i == 30 else 1)  # and the clock jumps with them
        f["EventHeader"] = G3Time(t)
        frames.append(f)
    path = tmp_path / "gappy.g3"
    write_frames(path, frames)
    source = background(["serve", str(path), "--port", "0", "--wait-for-client", "1"])
    port = source.port()
    r = run_cli("stats", "--json", "--interval", "0.2", f"tcp://127.0.0.1:{port}")
    assert r.returncode == 0, r.stderr
    last = json.loads(r.stdout.splitlines()[-1])
    assert last["gaps"] == 1
    assert abs(last["longest_gap"] - 6 * 0.0065536) < 1e-6
    assert last["types"]["Timepoint"]["dropped"] == 5
    assert source.wait() == 0
