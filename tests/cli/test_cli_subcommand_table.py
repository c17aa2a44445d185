"""The subcommand table: a command imports only the subcommand it runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from g3stream import G3Frame, G3Writer
from g3stream.cli.main import SUBCOMMANDS, build_parser, subcommand_module


@pytest.mark.parametrize("name", sorted(SUBCOMMANDS))
def test_table_help_is_the_module_help(name: str) -> None:
    """``g3stream --help`` lists what each subcommand's own parser says of it."""
    module = subcommand_module(name)
    assert module.__name__ == f"g3stream.cli.{name}"
    assert SUBCOMMANDS[name] == module.HELP
    assert callable(module.add_parser)


def test_a_parser_for_one_subcommand_still_lists_the_others() -> None:
    parser = build_parser("dump")
    text = parser.format_help()
    for name, help_text in SUBCOMMANDS.items():
        assert name in text
        assert help_text.split()[0] in text
    args = parser.parse_args(["dump", "--json", "x.g3"])
    assert args.json and args.sources == ["x.g3"]
    with pytest.raises(KeyError):
        subcommand_module("no-such-command")


def test_dump_imports_no_other_subcommand(tmp_path: Path) -> None:
    """In a fresh interpreter, ``dump --json`` leaves the other subcommand modules unloaded."""
    path = tmp_path / "one.g3"
    w = G3Writer(str(path))
    frame = G3Frame("S")
    frame["n"] = 3
    w(frame)
    w.close()
    script = (
        "import sys\n"
        "from g3stream.cli.main import main\n"
        f"status = main(['-q', 'dump', '--json', {str(path)!r}])\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('g3stream.cli.'))\n"
        "print(status, ' '.join(loaded), file=sys.stderr)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    status, loaded = out.stderr.strip().splitlines()[-1].split(" ", 1)
    assert status == "0"
    assert '"n"' in out.stdout
    others = {f"g3stream.cli.{n}" for n in SUBCOMMANDS if n != "dump"}
    assert "g3stream.cli.dump" in loaded.split()
    assert not others & set(loaded.split())
