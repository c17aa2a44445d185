"""The README's Python examples run as written, each in a fresh interpreter.

Each ```python block is written to a script in an empty directory and run
with this test's Python; it must exit with status 0 (the blocks check their
own results with ``assert``).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
_BLOCK = re.compile(r"^```python\n(.*?)^```$", re.DOTALL | re.MULTILINE)


def _python_blocks() -> list[str]:
    return _BLOCK.findall(README.read_text(encoding="utf-8"))


def _block_id(block: str) -> str:
    first = next((line for line in block.splitlines() if line.strip()), "empty")
    return first[:40]


BLOCKS = _python_blocks()


def test_readme_has_examples_and_the_two_setup_commands_first() -> None:
    text = README.read_text(encoding="utf-8")
    assert len(BLOCKS) >= 4
    first_code = text.index("```")
    setup = text[first_code : text.index("```", first_code + 3)]
    assert "bash scripts/demo.sh" in setup
    assert "bash scripts/test.sh" in setup
    assert "from g3stream import core" in text


@pytest.mark.parametrize("block", BLOCKS, ids=[_block_id(b) for b in BLOCKS])
def test_readme_python_block_runs(block: str, tmp_path: Path) -> None:
    script = tmp_path / "example.py"
    script.write_text(block, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert result.returncode == 0, (
        f"README example failed:\n{block}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    )
