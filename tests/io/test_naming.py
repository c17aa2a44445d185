"""File-name patterns: clock fields, a file number, the source, never a taken name."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from g3stream import G3Writer
from g3stream.errors import TruncatedFrameError
from g3stream.io.naming import FileNamePattern, split_extension
from g3stream.sim import SimulatedDAQ

WHEN = 1_780_000_000.0  # 2026-05-28 20:26:40 UTC


def test_fields_are_filled() -> None:
    p = FileNamePattern("%Y%m%d/%H%M%S-{n:03d}-{host}-{port}.g3", host="daq", port=4536)
    p._clock = lambda: WHEN  # type: ignore[method-assign]
    assert p.name(7) == "20260528/202640-007-daq-4536.g3"
    assert p.has_counter and p.has_clock and p.varies


def test_spt3g_integer_fields_are_the_file_number_and_a_bare_d_is_the_day() -> None:
    clock = lambda: WHEN  # noqa: E731
    assert FileNamePattern("run-%04u.g3", clock=clock).name(12) == "run-0012.g3"
    assert FileNamePattern("run-%u.g3", clock=clock).name(3) == "run-3.g3"
    assert FileNamePattern("run-%03d.g3", clock=clock).name(5) == "run-005.g3"
    day = FileNamePattern("run-%d.g3", clock=clock)
    assert day.name(5) == "run-28.g3" and not day.has_counter and day.has_clock
    assert FileNamePattern("100%%-%u.g3", clock=clock).name(1) == "100%-1.g3"


@pytest.mark.parametrize(
    "bad",
    ["x-{host}.g3", "x-{nope}.g3", "x-{n}-%04u.g3", "x-%03u-%03u.g3", "x-{n:.0s}.g3"],
)
def test_fields_that_cannot_be_filled_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        FileNamePattern(bad)


def test_taken_names_are_never_used(tmp_path: Path) -> None:
    (tmp_path / "run-0000.g3").write_bytes(b"old")
    (tmp_path / "run-0001.g3").write_bytes(b"old")
    numbered = FileNamePattern(str(tmp_path / "run-%04u.g3"), no_overwrite=True)
    assert Path(numbered.name(0)).name == "run-0002.g3"
    assert Path(numbered.name(1)).name == "run-0003.g3"
    (tmp_path / "night.g3.gz").write_bytes(b"old")
    plain = FileNamePattern(str(tmp_path / "night.g3.gz"), no_overwrite=True)
    assert Path(plain.name(0)).name == "night.1.g3.gz"
    assert Path(plain.name(1)).name == "night.2.g3.gz"  # used once already, even if not on disk
    stamped = FileNamePattern(str(tmp_path / "%Y.g3"), no_overwrite=True, clock=lambda: WHEN)
    assert [Path(stamped.name(i)).name for i in range(2)] == ["2026.g3", "2026.1.g3"]


def test_split_extension() -> None:
    assert split_extension("a/b.c.g3.xz") == ("a/b.c", ".g3.xz")
    assert split_extension("plain") == ("plain", "")


def test_clock_fields_use_utc_now() -> None:
    before = time.strftime("%Y%m%d%H", time.gmtime())
    got = FileNamePattern("%Y%m%d%H.g3").name(0)
    after = time.strftime("%Y%m%d%H", time.gmtime())
    assert got[:-3] in (before, after)


def test_appending_to_a_torn_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "crashed.g3"
    with G3Writer(path) as w:
        for f in SimulatedDAQ(n_samples=20, n_detectors=2):
            w(f)
    whole = path.read_bytes()
    with G3Writer(path, append=True) as w:  # a file that ends with a whole frame
        w(SimulatedDAQ(n_samples=1, n_detectors=2).observation_frame())
    assert path.read_bytes().startswith(whole)
    path.write_bytes(whole[:-5])
    with pytest.raises(TruncatedFrameError) as info:
        G3Writer(path, append=True)
    assert info.value.offset is not None and 0 < info.value.offset < len(whole)
    assert path.read_bytes() == whole[:-5]  # untouched
