"""The release artefacts: the sdist and a pure-Python wheel that installs from wheels only.

The wheel and the sdist are built from this checkout; the wheel goes into
a fresh virtual environment with ``pip install --only-binary=:all:`` (every
dependency must come as a wheel: no compiler), and the installed command
runs its demo, a live TCP stream, from there.  pip's own cache is used, so
only a first run fetches the dependencies.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.timeout(60)


def _run(args: list[str], timeout: float, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, capture_output=True, text=True, timeout=timeout, check=False, **kwargs
    )


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The sdist, and the wheel built from that sdist (as ``python -m build`` does)."""
    if not (ROOT / "pyproject.toml").exists():
        pytest.skip("not a source checkout")
    out = tmp_path_factory.mktemp("dist")
    done = _run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(ROOT)],
        timeout=50,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    (wheel,) = out.glob("g3stream-*.whl")
    (sdist,) = out.glob("g3stream-*.tar.gz")
    return {"wheel": wheel, "sdist": sdist}


def test_wheel_is_pure_python_and_carries_license_and_types(dists: dict[str, Path]) -> None:
    wheel = dists["wheel"]
    assert wheel.name.endswith("-py3-none-any.whl")
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        meta_name = next(n for n in names if n.endswith(".dist-info/METADATA"))
        meta = z.read(meta_name).decode()
    assert "g3stream/py.typed" in names
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert not [n for n in names if n.endswith((".so", ".pyd", ".dylib", ".c"))]
    assert "License-Expression: BSD-2-Clause" in meta
    assert "Classifier: Typing :: Typed" in meta
    requires = [line for line in meta.splitlines() if line.startswith("Requires-Dist:")]
    assert not [r for r in requires if "pyflac" in r]
    assert any(r.startswith("Requires-Dist: orjson") and "extra ==" in r for r in requires)


def test_sdist_carries_license_and_types(dists: dict[str, Path]) -> None:
    with tarfile.open(dists["sdist"]) as t:
        names = {n.split("/", 1)[1] for n in t.getnames() if "/" in n}
    assert {"LICENSE", "pyproject.toml", "src/g3stream/py.typed"} <= names


def test_wheel_installs_from_wheels_only_and_runs_the_demo(
    dists: dict[str, Path], tmp_path: Path
) -> None:
    venv = tmp_path / "venv"
    # no pip inside: the running pip installs into it (--python), which saves time
    made = _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], timeout=30)
    assert made.returncode == 0, made.stderr
    bindir = venv / ("Scripts" if os.name == "nt" else "bin")
    python = bindir / "python"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    installed = _run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-compile"]
        + ["--only-binary=:all:", str(dists["wheel"])],
        timeout=45,
        env=env,
    )
    assert installed.returncode == 0, installed.stdout[-2000:] + installed.stderr[-2000:]
    demo = _run(
        [str(bindir / "g3stream"), "demo", "--duration", "2", "--interval", "0.5"],
        timeout=30,
        env={**env, "COLUMNS": "100"},
        cwd=tmp_path,  # nothing of the checkout on the path
    )
    assert demo.returncode == 0, demo.stdout[-2000:] + demo.stderr[-2000:]
    assert "Timepoint" in demo.stdout
    where = _run(
        [str(python), "-c", "import g3stream; print(g3stream.__file__)"],
        timeout=20,
        env=env,
        cwd=tmp_path,
    )
    assert str(venv) in where.stdout


def test_accelerator_builds_as_a_platform_wheel_and_is_used(tmp_path: Path) -> None:
    """accel/ builds a CPython platform wheel; installed beside g3stream, the codec uses it."""
    if not (ROOT / "accel" / "pyproject.toml").exists():
        pytest.skip("not a source checkout")
    if not any(shutil.which(cc) for cc in ("cc", "gcc", "clang")):
        pytest.skip("no C compiler to build the accelerator with")
    out = tmp_path / "dist"
    done = _run(
        [sys.executable, "-m", "build", "--no-isolation", "--wheel", "--outdir", str(out)]
        + [str(ROOT / "accel")],
        timeout=50,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    (wheel,) = out.glob("g3stream_accel-*.whl")
    assert "-none-any" not in wheel.name
    assert f"-cp{sys.version_info.major}{sys.version_info.minor}-" in wheel.name
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
    assert any(n.startswith("g3stream_accel/_codec") for n in names)
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    # the wheel works from its own folder: unpack it and ask g3stream which path it takes
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as z:
        z.extractall(site)
    code = "from g3stream._accel import accel; print(accel.__name__ if accel else None)"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(ROOT / "src")])}
    env.pop("G3STREAM_PURE", None)
    used = _run([sys.executable, "-c", code], timeout=20, env=env, cwd=tmp_path)
    assert used.stdout.strip() == "g3stream_accel", used.stderr
    env["G3STREAM_PURE"] = "1"
    used = _run([sys.executable, "-c", code], timeout=20, env=env, cwd=tmp_path)
    assert used.stdout.strip() == "None", used.stderr
