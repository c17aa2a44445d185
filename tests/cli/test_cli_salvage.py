"""``verify`` locates a tear; ``salvage`` copies what is whole to a clean file."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from clihelpers import frame_offsets, run_cli, write_frames

from g3stream import G3Frame, G3FrameType, G3Reader


def _frames(n: int) -> list[G3Frame]:
    out = []
    for i in range(n):
        f = G3Frame(G3FrameType.Timepoint)
        f["SampleIndex"] = i
        f["data"] = "z" * (50 + i)
        out.append(f)
    return out


def test_verify_says_where_a_plain_file_is_torn(tmp_path: Path) -> None:
    data = write_frames(tmp_path / "src.g3", _frames(6))
    offsets = frame_offsets(data)
    cut = tmp_path / "cut.g3"
    cut.write_bytes(data[: offsets[4] + 17])
    r = run_cli("verify", str(cut))
    assert r.returncode == 1
    assert f"torn at byte offset {offsets[4]}: 4 complete frames" in r.stderr
    assert "followed by 17 bytes of an incomplete frame" in r.stderr
    assert "g3stream salvage" in r.stderr


def test_salvage_a_torn_gzip_file(tmp_path: Path) -> None:
    data = write_frames(tmp_path / "src.g3", _frames(300))
    offsets = frame_offsets(data)
    packed = gzip.compress(data, mtime=0)
    cut = tmp_path / "cut.g3.gz"
    cut.write_bytes(packed[: len(packed) * 3 // 4])
    v = run_cli("verify", str(cut))
    assert v.returncode == 1 and "of the decompressed stream" in v.stderr
    out = tmp_path / "clean.g3"
    r = run_cli("salvage", str(cut), str(out))
    assert r.returncode == 0, r.stderr
    got = out.read_bytes()
    n = len(frame_offsets(got))
    assert n > 0 and got == data[: offsets[n]]  # the complete frames, byte for byte
    assert f"salvaged {n} frames" in r.stderr
    assert f"stopped at byte offset {offsets[n]}" in r.stderr
    assert run_cli("verify", str(out)).returncode == 0
    # the output is not replaced without --force, and never is the input
    assert run_cli("salvage", str(cut), str(out)).returncode == 2
    assert run_cli("salvage", str(cut), str(out), "--force").returncode == 0
    assert run_cli("salvage", str(out), str(out), "--force").returncode == 2
    assert run_cli("salvage", str(cut), str(tmp_path / "x.txt")).returncode == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clean.g3", "cut.g3.gz", "src.g3"]


def test_salvage_skips_a_frame_with_a_bad_crc_and_goes_on(tmp_path: Path) -> None:
    data = write_frames(tmp_path / "src.g3", _frames(8))
    offsets = frame_offsets(data)
    bad = bytearray(data)
    bad[offsets[3] + 40] ^= 0x20
    damaged = tmp_path / "damaged.g3"
    damaged.write_bytes(bytes(bad))
    out = tmp_path / "fixed.g3.xz"
    r = run_cli("salvage", str(damaged), str(out))
    assert r.returncode == 0, r.stderr
    assert f"left out the frame at byte offset {offsets[3]}: bad CRC" in r.stderr
    assert [f["SampleIndex"] for f in G3Reader(out)] == [0, 1, 2, 4, 5, 6, 7]


def test_spt3g_reads_a_salvaged_file(tmp_path: Path) -> None:
    core = pytest.importorskip("spt3g.core")
    data = write_frames(tmp_path / "src.g3", _frames(40))
    cut = tmp_path / "cut.g3"
    cut.write_bytes(data[: len(data) - 30])
    out = tmp_path / "clean.g3"
    assert run_cli("salvage", str(cut), str(out)).returncode == 0
    assert [int(f["SampleIndex"]) for f in core.G3File(str(out))] == list(range(39))
