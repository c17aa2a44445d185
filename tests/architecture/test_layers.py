"""The package is a house of floors: each module imports only from the floors below its own.

Every import of a g3stream module counts as an edge: at module level, inside
functions, and under ``TYPE_CHECKING``.  A module may import from a lower
floor or its own; never upward, never in a circle.  A new
module must be given a floor here (an unknown one fails), which is where a
new folder is placed in the house.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import g3stream

PACKAGE = Path(g3stream.__file__).resolve().parent

#: Floors from the ground up; a module sits on the floor of its longest prefix.
FLOORS: dict[str, int] = {
    "g3stream._version": 0,
    "g3stream._types": 0,
    "g3stream._accel": 0,
    "g3stream.errors": 0,
    "g3stream.frametype": 1,
    "g3stream.libflac": 1,
    "g3stream.cereal": 2,
    "g3stream.objects": 3,
    "g3stream.frame": 4,
    "g3stream.codec": 5,
    "g3stream.jsonform": 6,
    "g3stream.io": 7,
    "g3stream.pipeline": 8,
    "g3stream.sim": 9,
    "g3stream.net": 10,
    "g3stream.nats": 11,
    "g3stream.live": 11,
    "g3stream.metrics": 11,
    "g3stream.rates": 11,
    "g3stream.aio": 12,
    "g3stream.web": 20,
    "g3stream.cli": 20,
    "g3stream.core": 21,
    "g3stream.__main__": 21,
    "g3stream": 21,
}


@dataclass(frozen=True)
class Edge:
    """One import statement of a g3stream module."""

    source: str
    target: str
    line: int
    nested: bool  # inside a function or class body (not module level)


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def resolve(source: str, is_package: bool, node: ast.ImportFrom, known: set[str]) -> list[str]:
    """The g3stream modules an ``from ... import ...`` statement loads."""
    if node.level:
        base = source.split(".") if is_package else source.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        target = ".".join(base + ([node.module] if node.module else []))
    else:
        target = node.module or ""
    if target != "g3stream" and not target.startswith("g3stream."):
        return []  # another package (g3stream_accel is one)
    # ``from package import submodule`` loads the submodule too
    subs = [f"{target}.{a.name}" for a in node.names if f"{target}.{a.name}" in known]
    return subs or [target]


def edges() -> Iterator[Edge]:
    known = modules()
    names = set(known)
    for source, path in known.items():
        tree = ast.parse(path.read_text(), str(path))
        is_package = path.name == "__init__.py"
        nested_nodes: set[int] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                nested_nodes.update(id(n) for n in ast.walk(node) if n is not node)
        for node in ast.walk(tree):
            nested = id(node) in nested_nodes
            if isinstance(node, ast.ImportFrom):
                for target in resolve(source, is_package, node, names):
                    yield Edge(source, target, node.lineno, nested)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name == "g3stream" or alias.name.startswith("g3stream."):
                        yield Edge(source, alias.name, node.lineno, nested)


def floor_of(module: str) -> tuple[str, int]:
    """The floor table's entry for ``module`` (its longest prefix)."""
    parts = module.split(".")
    for cut in range(len(parts), 0, -1):
        key = ".".join(parts[:cut])
        if key in FLOORS:
            return key, FLOORS[key]
    raise KeyError(module)


def test_every_module_has_a_floor() -> None:
    unplaced = []
    for name in modules():
        try:
            floor_of(name)
        except KeyError:
            unplaced.append(name)
    assert not unplaced, f"give these modules a floor in FLOORS: {unplaced}"


def test_no_module_imports_from_a_floor_above_its_own() -> None:
    upward = []
    for e in edges():
        src_floor = floor_of(e.source)[1]
        dst_floor = floor_of(e.target)[1]
        if dst_floor > src_floor:
            upward.append(f"{e.source}:{e.line} imports {e.target}")
    assert not upward, "imports that run upward:\n" + "\n".join(upward)


def test_no_import_circles() -> None:
    graph: dict[str, set[str]] = {m: set() for m in modules()}
    for e in edges():
        if e.target in graph and e.target != e.source:
            graph[e.source].add(e.target)
    # Tarjan's strongly connected components, iteratively
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    circles: list[list[str]] = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    circles.append(sorted(component))
    assert not circles, f"import circles: {circles}"


#: Modules allowed to import a g3stream module inside a function: only for a
#: layer loaded on purpose when first used.  The command line's shared input
#: options load the network layer only for a URL or a network command, so
#: that ``dump`` and ``verify`` of files start quickly.
LAZY_IMPORTS_ALLOWED: set[tuple[str, str]] = {
    ("g3stream.cli.inputs", "g3stream.net.url"),
    ("g3stream.cli.inputs", "g3stream.net.sockets"),
    ("g3stream.cli.inputs", "g3stream.net.tcp_source"),
}


def test_g3stream_modules_are_imported_at_module_level() -> None:
    nested = [
        f"{e.source}:{e.line} imports {e.target} inside a function"
        for e in edges()
        if e.nested and (e.source, e.target) not in LAZY_IMPORTS_ALLOWED
    ]
    assert not nested, "\n".join(nested)


def test_the_checks_see_an_upward_import_when_there_is_one(tmp_path: Path) -> None:
    """The edge finder reads function-level and TYPE_CHECKING imports too."""
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from ..net import sender\n"
        "def f():\n"
        "    from ..cli import main\n"
    )
    tree = ast.parse(source)
    found = [
        t
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        for t in resolve("g3stream.codec.decoder", False, node, set(modules()))
    ]
    assert found == ["g3stream.net.sender", "g3stream.cli.main"]
    assert all(floor_of(t)[1] > floor_of("g3stream.codec.decoder")[1] for t in found)
