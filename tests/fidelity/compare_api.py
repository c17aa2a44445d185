"""List how g3stream's public names differ from spt3g's (``dir()`` of every shared name).

Run as a script (``python tests/fidelity/compare_api.py [--json]``) with the
reference installed.  For every name both ``spt3g.core`` and
``g3stream.core`` export, it prints the public members (and dunder
operators) the reference has and g3stream lacks, and those only g3stream
has; then the names only one library exports.  ``test_api_members.py``
holds the differences that are known and explained, and fails on any new one.
"""

from __future__ import annotations

import argparse
import enum
import json
import sys
from typing import Any

#: dunder methods that make up the Python behaviour of a class (operators, protocols)
BEHAVIOUR_DUNDERS = {
    f"__{n}__"
    for n in (
        "abs add and bool contains delitem divmod eq floordiv ge getitem gt iadd iand ifloordiv "
        "ilshift imod imul invert ior ipow irshift isub iter itruediv ixor le len lshift lt mod "
        "mul ne neg or pos pow radd rand rfloordiv rlshift rmod rmul ror rpow rrshift rshift "
        "rsub rtruediv rxor setitem sub truediv xor int float array"
    ).split()
}


def members(obj: Any) -> set[str]:
    """The public members of ``obj`` plus the behaviour dunders it defines.

    ``__bool__`` counts as defined when ``__len__`` is (Python's truth value
    falls back on the length).
    """
    names = set()
    for n in dir(obj):
        if n in BEHAVIOUR_DUNDERS:
            if getattr(obj, n, None) is not None:
                names.add(n)
        elif not n.startswith("_"):
            names.add(n)
    if "__len__" in names:
        names.add("__bool__")
    return names


def lacks(obj: Any, name: str) -> bool:
    """Whether ``obj`` has no usable ``name`` (``dir`` hides some, e.g. enum class attributes)."""
    if name in members(obj):
        return False
    if name.startswith("__"):
        return True
    if isinstance(obj, enum.EnumMeta) and len(obj):  # name, value: on the members
        obj = next(iter(obj))
    try:
        getattr(obj, name)
    except AttributeError:
        return True
    except Exception:  # a property that needs an instance: present
        return False
    return False


def public_names(module: Any) -> set[str]:
    """The public names of a module (no private names, no submodules of the reference's
    build such as ``spt3g.core.modules``)."""
    return {n for n in dir(module) if not n.startswith("_") and n != "annotations"}


def compare() -> dict[str, Any]:
    """The differences, as a dictionary (see the module's docstring)."""
    from spt3g import core as ref

    from g3stream import core as ours

    theirs, mine = public_names(ref), public_names(ours)
    shared: dict[str, dict[str, list[str]]] = {}
    for name in sorted(theirs & mine):
        a, b = getattr(ref, name), getattr(ours, name)
        missing = sorted(n for n in members(a) if lacks(b, n))
        extra = sorted(members(b) - members(a))
        if missing or extra:
            shared[name] = {"missing": missing, "extra": extra}
    return {
        "shared_names": len(theirs & mine),
        "members": shared,
        "only_in_spt3g": sorted(theirs - mine),
        "only_in_g3stream": sorted(mine - theirs),
    }


def main(argv: list[str] | None = None) -> int:
    """Print the comparison (text, or JSON with ``--json``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print JSON")
    args = parser.parse_args(argv)
    result = compare()
    if args.json:
        json.dump(result, sys.stdout, indent=1)
        print()
        return 0
    print(f"{result['shared_names']} names exported by both libraries")
    print(f"\nmembers that differ ({len(result['members'])} names):")
    for name, d in result["members"].items():
        if d["missing"]:
            print(f"  {name}: spt3g only: {', '.join(d['missing'])}")
        if d["extra"]:
            print(f"  {name}: g3stream only: {', '.join(d['extra'])}")
    print(f"\nnames only spt3g exports ({len(result['only_in_spt3g'])}):")
    print("  " + ", ".join(result["only_in_spt3g"]))
    print(f"\nnames only g3stream exports ({len(result['only_in_g3stream'])}):")
    print("  " + ", ".join(result["only_in_g3stream"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
