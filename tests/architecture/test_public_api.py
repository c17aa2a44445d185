"""The public API never loses or changes a name: ``g3stream.__all__`` and ``dir(core)``.

``public_api.json`` was taken from the package before its layers were
rebuilt.  Every name in it must still exist with the same kind; a class must
keep every public member; a function must keep its parameters (names,
kinds and defaults).  Additions are allowed.
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any

import g3stream
from g3stream import core

SNAPSHOT = Path(__file__).with_name("public_api.json")


def signature(obj: Any) -> list[str] | None:
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return None
    return [
        f"{p.kind.name} {p.name}" + ("" if p.default is p.empty else f"={p.default!r}")
        for p in sig.parameters.values()
    ]


def describe(obj: Any) -> dict[str, Any]:
    if inspect.ismodule(obj):
        return {"kind": "module", "name": obj.__name__}
    if inspect.isclass(obj):
        members = sorted(n for n in dir(obj) if not n.startswith("_"))
        return {"kind": "class", "name": obj.__name__, "members": members}
    if callable(obj):
        return {"kind": "callable", "signature": signature(obj)}
    return {"kind": "value", "type": type(obj).__name__}


def current() -> dict[str, dict[str, Any]]:
    return {
        "g3stream.__all__": {n: describe(getattr(g3stream, n)) for n in g3stream.__all__},
        "dir(core)": {
            n: describe(getattr(core, n))
            for n in dir(core)
            if not n.startswith("_") and n != "annotations"
        },
    }


def differences(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """What ``after`` removed or changed of ``before`` (additions are fine)."""
    out = []
    for section, names in before.items():
        for name, was in names.items():
            now = after[section].get(name)
            if now is None:
                out.append(f"{section}: {name} was removed")
            elif now["kind"] != was["kind"]:
                out.append(f"{section}: {name} was a {was['kind']}, is a {now['kind']}")
            elif was["kind"] == "class":
                lost = sorted(set(was["members"]) - set(now["members"]))
                if lost:
                    out.append(f"{section}: {name} lost {lost}")
                if now["name"] != was["name"]:
                    out.append(f"{section}: {name} is now {now['name']}")
            elif was["kind"] == "callable":
                old, new = was["signature"], now["signature"]
                if old is not None and (new is None or new[: len(old)] != old):
                    out.append(f"{section}: {name}{old} became {new}")
            elif was != now:
                out.append(f"{section}: {name} changed from {was} to {now}")
    return out


def test_nothing_public_was_removed_or_changed() -> None:
    before = json.loads(SNAPSHOT.read_text())
    assert differences(before, current()) == []


def test_the_comparison_notices_a_removed_or_changed_name() -> None:
    before = json.loads(SNAPSHOT.read_text())
    after = current()
    del after["dir(core)"]["G3Reader"]
    after["g3stream.__all__"]["G3Frame"] = dict(after["g3stream.__all__"]["G3Frame"], members=[])
    found = differences(before, after)
    assert any("G3Reader was removed" in d for d in found)
    assert any("G3Frame lost" in d for d in found)
