"""Before and after: the same benchmark run against two source trees, alternating.

Each benchmark script of this folder prints lines ending in ``ratio 1.23x``
(g3stream against spt3g, measured in the same run).  This script runs one of
them with ``PYTHONPATH`` pointing at each tree's ``src`` in turn, ``--runs``
times, and prints for every figure the median ratio of each tree and the
change between them.  Alternating the trees spreads the machine's noise
evenly over both, and the same-run ratio cancels most of the rest.

    python bench/compare_trees.py --before ../old-checkout --after . \\
        --runs 5 -- bench/bench_files.py --repeat 1

Everything after ``--`` is the benchmark command (run with this Python); a
relative script path names the script inside each tree.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
from collections import defaultdict

#: ``  label ... ratio 1.23x`` as bench_files.py and bench_network.py print them.
_RATIO = re.compile(r"^\s*(?P<label>.+?)(?::| g3stream).*ratio\s+(?P<ratio>[0-9.]+)x\s*$")
#: A workload heading such as ``large: 200 frames, ...``.
_HEADING = re.compile(r"^(?P<name>\w[\w ,+-]*?):\s")


def ratios(output: str) -> dict[str, float]:
    """Every ``ratio`` figure of one benchmark run, keyed by workload and label."""
    found: dict[str, float] = {}
    section = ""
    for line in output.splitlines():
        m = _RATIO.match(line)
        if m:
            found[f"{section}{m.group('label').strip()}"] = float(m.group("ratio"))
            continue
        h = _HEADING.match(line)
        if h and not line.startswith(" "):
            section = h.group("name") + ": "
    return found


def run(tree: str, command: list[str]) -> dict[str, float]:
    """One run of ``command`` from ``tree``: its script, with its package first on the path.

    Each tree runs its own copy of the benchmark script (a relative script
    path is taken inside the tree), so scripts that start workers from
    their own checkout measure that checkout.
    """
    root = os.path.abspath(tree)
    env = dict(os.environ, PYTHONPATH=os.path.join(root, "src"))
    script = command[0] if os.path.isabs(command[0]) else os.path.join(root, command[0])
    out = subprocess.run(
        [sys.executable, script, *command[1:]],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=root,
    )
    return ratios(out.stdout)


def main(argv: list[str] | None = None) -> int:
    """Run the comparison and print one line per figure."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", required=True, help="the checkout to compare against")
    parser.add_argument("--after", default=".", help="the checkout under test (default: .)")
    parser.add_argument("--runs", type=int, default=5, help="runs of each tree (default 5)")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- benchmark script and args")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the benchmark command after --")
    runs: dict[str, dict[str, list[float]]] = {
        "before": defaultdict(list),
        "after": defaultdict(list),
    }
    for i in range(args.runs):
        for which, tree in (("before", args.before), ("after", args.after)):
            for label, ratio in run(tree, command).items():
                runs[which][label].append(ratio)
        print(f"run {i + 1}/{args.runs} done", file=sys.stderr, flush=True)
    print(f"median of {args.runs} runs of: {' '.join(command)}")
    print(f"{'figure':<44} {'before':>8} {'after':>8} {'change':>8}")
    for label in runs["before"]:
        if label not in runs["after"]:
            continue
        before = statistics.median(runs["before"][label])
        after = statistics.median(runs["after"][label])
        change = (after / before - 1) * 100
        print(f"{label:<44} {before:>7.2f}x {after:>7.2f}x {change:>+7.1f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
