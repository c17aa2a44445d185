"""Every public error class is defined on floor 0, in ``g3stream.errors``.

The ``errors`` modules of the subpackages (``g3stream.net.errors``,
``g3stream.nats.errors``) only re-export them, and ``g3stream.errors``
itself imports nothing but the standard library, so that any layer (and
any user) can catch an error without loading an optional dependency.
"""

from __future__ import annotations

import ast
import importlib
import sys
from pathlib import Path

import pytest

import g3stream
import g3stream.errors

PACKAGE = Path(g3stream.__file__).resolve().parent
SUBPACKAGE_ERRORS = sorted(
    ".".join(p.relative_to(PACKAGE.parent).with_suffix("").parts)
    for p in PACKAGE.glob("*/errors.py")
)


def test_there_are_subpackage_error_modules_to_check() -> None:
    assert {"g3stream.net.errors", "g3stream.nats.errors"} <= set(SUBPACKAGE_ERRORS)


@pytest.mark.parametrize("name", SUBPACKAGE_ERRORS)
def test_subpackage_error_modules_only_re_export(name: str) -> None:
    module = importlib.import_module(name)
    assert module.__all__
    for attr in module.__all__:
        cls = getattr(module, attr)
        assert isinstance(cls, type) and issubclass(cls, BaseException), attr
        assert cls.__module__ == "g3stream.errors", f"{name}.{attr} is defined in {cls.__module__}"
        assert getattr(g3stream.errors, attr) is cls


def test_the_errors_module_imports_only_the_standard_library() -> None:
    tree = ast.parse(Path(g3stream.errors.__file__).read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            imported.add((node.module or "").split(".")[0])
    assert imported <= set(sys.stdlib_module_names), imported - set(sys.stdlib_module_names)


def test_nats_errors_keep_their_bases() -> None:
    e = g3stream.errors
    for cls in (e.NatsUnreachableError, e.NatsAuthError, e.NatsRefusedError, e.NatsOutageError):
        assert issubclass(cls, e.G3NatsError)
        assert issubclass(cls, e.G3ConnectionError) and issubclass(cls, RuntimeError)
    err = e.NotAG3FrameError("not a frame", 42)
    assert isinstance(err, e.G3FormatError) and (err.offset, err.sequence) == (42, 42)
