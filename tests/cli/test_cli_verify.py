"""``g3stream verify``, end to end through the console script."""

from __future__ import annotations

import bz2
from pathlib import Path

from clihelpers import frame_offsets, run_cli, write_frames

from g3stream import G3Frame, G3FrameType

VECTORS = Path(__file__).parent.parent / "vectors"


def _frames(n: int) -> list[G3Frame]:
    out = []
    for i in range(n):
        f = G3Frame(G3FrameType.Scan)
        f["i"] = i
        f["payload"] = "x" * 100
        out.append(f)
    return out


def test_every_vector_file_verifies() -> None:
    files = sorted(str(p) for p in VECTORS.iterdir() if ".g3" in p.name)
    r = run_cli("verify", *files)
    assert r.returncode == 0, r.stderr
    for name in files:
        assert f"File {name} OK" in r.stdout


def test_decode_option_reads_every_value() -> None:
    r = run_cli("verify", "--decode", str(VECTORS / "maps.g3"), str(VECTORS / "timestreams.g3"))
    assert r.returncode == 0, r.stderr
    assert r.stdout.count(" OK ") == 2


def test_corrupt_frame_names_file_and_offset(tmp_path: Path) -> None:
    data = write_frames(tmp_path / "good.g3", _frames(5))
    offsets = frame_offsets(data)
    bad = bytearray(data)
    bad[offsets[3] + 60] ^= 0x55  # inside the fourth frame's payload
    path = tmp_path / "bad.g3"
    path.write_bytes(bytes(bad))
    good = tmp_path / "good.g3"
    r = run_cli("verify", str(good), str(path), str(good))
    assert r.returncode == 1
    assert f"File {good} OK" in r.stdout
    assert r.stdout.count("OK") == 1  # stopped at the first corrupt frame
    assert str(path) in r.stderr
    assert f"byte offset {offsets[3]}" in r.stderr
    assert "frame 3" in r.stderr


def test_truncated_and_compressed_files(tmp_path: Path) -> None:
    data = write_frames(tmp_path / "src.g3", _frames(4))
    offsets = frame_offsets(data)
    cut = tmp_path / "cut.g3"
    cut.write_bytes(data[: offsets[2] + 10])
    r = run_cli("verify", str(cut))
    assert r.returncode == 1
    assert f"byte offset {offsets[2]}" in r.stderr

    packed = tmp_path / "ok.g3.bz2"
    packed.write_bytes(bz2.compress(data))
    assert run_cli("verify", str(packed)).returncode == 0

    bad = bytearray(data)
    bad[offsets[1] + 50] ^= 1
    badpacked = tmp_path / "bad.g3.bz2"
    badpacked.write_bytes(bz2.compress(bytes(bad)))
    r = run_cli("verify", str(badpacked))
    assert r.returncode == 1
    assert f"byte offset {offsets[1]} of the decompressed stream" in r.stderr


def test_progress_bar_and_stdin(tmp_path: Path) -> None:
    data = write_frames(tmp_path / "p.g3", _frames(50))
    r = run_cli("verify", "--progress", str(tmp_path / "p.g3"))
    assert r.returncode == 0, r.stderr
    assert "OK (50 frames" in r.stdout
    import subprocess

    from clihelpers import g3stream_command

    p = subprocess.run(
        [*g3stream_command(), "verify", "-"], input=data, capture_output=True, timeout=60
    )
    assert p.returncode == 0, p.stderr
    assert b"File - OK (50 frames" in p.stdout


def test_usage_and_missing_files(tmp_path: Path) -> None:
    assert run_cli("verify").returncode == 2
    r = run_cli("verify", str(tmp_path / "absent.g3"))
    assert r.returncode == 1
    assert "absent.g3" in r.stderr
    (tmp_path / "empty.g3").write_bytes(b"")
    r = run_cli("verify", str(tmp_path / "empty.g3"))
    assert r.returncode == 0
    assert "OK (0 frames" in r.stdout
