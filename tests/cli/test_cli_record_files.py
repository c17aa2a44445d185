"""``record``: file names, rotation on a new session, never overwriting a recording."""

from __future__ import annotations

import time
from pathlib import Path

from clihelpers import run_cli, write_frames

from g3stream import G3Frame, G3FrameType, G3Reader


def _frames(n: int) -> list[G3Frame]:
    obs = G3Frame(G3FrameType.Observation)
    obs["source"] = "test"
    out = [obs]
    for i in range(n):
        f = G3Frame(G3FrameType.Timepoint)
        f["SampleIndex"] = i
        out.append(f)
    return out


def test_a_new_session_starts_a_new_file_named_by_the_pattern(tmp_path: Path, background) -> None:
    src = tmp_path / "src.g3"
    write_frames(src, _frames(20))
    pattern = tmp_path / "rec" / "%Y" / "sess-{n:02d}-{host}.g3"
    recorder = background(
        ["record", "tcp://*:0", str(pattern), "--rotate-on-reconnect", "-n", "42"]
    )
    port = recorder.port()
    for _ in range(2):  # the DAQ connects, sends its file and goes away, twice
        sender = run_cli("serve", str(src), "--host", "127.0.0.1", "--port", str(port))
        assert sender.returncode == 0, sender.stderr
    assert recorder.wait() == 0, recorder.stderr
    year = time.strftime("%Y", time.gmtime())
    files = sorted((tmp_path / "rec").rglob("*.g3"))
    assert [f.relative_to(tmp_path / "rec").as_posix() for f in files] == [
        f"{year}/sess-00-any.g3",
        f"{year}/sess-01-any.g3",
    ]
    for f in files:  # each session whole, in its own file, starting with its metadata
        frames = list(G3Reader(f))
        assert frames[0].type == G3FrameType.Observation
        assert [fr["SampleIndex"] for fr in frames[1:]] == list(range(20))


def test_an_existing_recording_is_never_overwritten(tmp_path: Path, background) -> None:
    src = tmp_path / "src.g3"
    write_frames(src, _frames(5))
    out = tmp_path / "night.g3"
    out.write_bytes(b"yesterday")
    server = background(["serve", str(src), "--port", "0", "--wait-for-client", "1"])
    port = server.port()
    r = run_cli("record", f"tcp://127.0.0.1:{port}", str(out))
    assert r.returncode == 0, r.stderr
    assert out.read_bytes() == b"yesterday"
    assert "night.1.g3" in r.stderr
    assert len(list(G3Reader(tmp_path / "night.1.g3"))) == 6
    assert server.wait() == 0


def test_numbered_files_continue_after_an_earlier_run(tmp_path: Path, background) -> None:
    src = tmp_path / "src.g3"
    write_frames(src, _frames(5))
    (tmp_path / "run-0000.g3").write_bytes(b"earlier")
    server = background(["serve", str(src), "--port", "0", "--wait-for-client", "1"])
    port = server.port()
    r = run_cli("record", f"tcp://127.0.0.1:{port}", str(tmp_path / "run.g3"), "--size-limit", "1M")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "run-0000.g3").read_bytes() == b"earlier"
    assert len(list(G3Reader(tmp_path / "run-0001.g3"))) == 6
    assert server.wait() == 0


def test_rotation_on_the_clock_gives_files_that_stand_alone(tmp_path: Path, background) -> None:
    server = background(["serve", "--simulate", "--port", "0", "--bind", "127.0.0.1"])
    port = server.port()
    out = tmp_path / "clock" / "%H%M%S-{port}.g3.gz"
    r = run_cli(
        "record",
        f"tcp://127.0.0.1:{port}",
        str(out),
        "--rotate-every",
        "1s",
        "--rotate-aligned",
        "--duration",
        "3",
    )
    assert r.returncode == 0, r.stderr
    files = sorted((tmp_path / "clock").iterdir())
    assert len(files) >= 2
    seen: list[int] = []
    for f in files:
        assert f.name.endswith(f"-{port}.g3.gz")
        frames = list(G3Reader(f))
        assert frames[0].type == G3FrameType.Observation  # every file starts with the metadata
        seen += [int(fr["SampleIndex"]) for fr in frames if "SampleIndex" in fr]
    assert seen == list(range(seen[0], seen[0] + len(seen)))  # nothing lost between files
    assert server.interrupt() == 0
