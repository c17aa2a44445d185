"""A short run of ``bench/fuzz_decode.py``: mutated vectors and bombs give only typed errors.

The full run (1,000,000 inputs) is a benchmark; this one stops after 15
seconds.  The per-input time bound is looser than the benchmark's 1 s so a
busy test machine does not fail it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "fuzz_decode.py"


def test_short_fuzz_run_gives_only_typed_errors(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--count",
            "200000",
            "--time-limit",
            "15",
            "--seed",
            "7",
            "--max-decoded-size",
            "32M",
            "--max-input-seconds",
            "5",
            "--max-rss",
            "1G",
            "--progress",
            "0",
            "--save-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=50,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "untyped errors or hangs: 0" in done.stdout
    inputs = int(done.stdout.split("inputs: ", 1)[1].split()[0])
    assert inputs >= 1000, done.stdout  # it did run
    assert "DecodedSizeError" in done.stdout  # the bombs were among the seeds
