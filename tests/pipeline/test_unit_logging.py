"""spt3g's logging functions on stdlib logging."""

from __future__ import annotations

import logging

import pytest

from g3stream.pipeline import (
    G3FatalError,
    G3LogLevel,
    log_debug,
    log_error,
    log_fatal,
    log_info,
    log_notice,
    log_trace,
    log_warn,
    set_log_level,
)
from g3stream.pipeline.g3logging import NOTICE, TRACE, unit_logger


@pytest.fixture(autouse=True)
def _restore_levels():
    loggers = [unit_logger(None), unit_logger("Python"), unit_logger("MyUnit")]
    saved = [lg.level for lg in loggers]
    yield
    for lg, level in zip(loggers, saved, strict=True):
        lg.setLevel(level)


def test_levels_have_spt3g_numbers_and_stdlib_equivalents():
    assert [int(level) for level in G3LogLevel] == list(range(7))
    assert [level.stdlib_level for level in G3LogLevel] == [TRACE, 10, 20, NOTICE, 30, 40, 50]
    assert logging.getLevelName(NOTICE) == "NOTICE"


def test_each_function_logs_at_its_level_for_its_unit(caplog):
    set_log_level(G3LogLevel.LOG_TRACE)
    with caplog.at_level(TRACE, logger="g3stream"):
        log_trace("t", 1)
        log_debug("d", 2.5)
        log_info("i")
        log_notice("n", unit="MyUnit")
        log_warn("w")
        log_error("e", "f")
    got = [(r.name, r.levelno, r.getMessage()) for r in caplog.records]
    assert got == [
        ("g3stream.Python", TRACE, "t 1"),
        ("g3stream.Python", logging.DEBUG, "d 2.5"),
        ("g3stream.Python", logging.INFO, "i"),
        ("g3stream.MyUnit", NOTICE, "n"),
        ("g3stream.Python", logging.WARNING, "w"),
        ("g3stream.Python", logging.ERROR, "e f"),
    ]
    # the record points at the caller, not at the logging functions
    assert all(r.filename == "test_unit_logging.py" for r in caplog.records)


def test_fatal_logs_then_raises(caplog):
    with caplog.at_level(logging.CRITICAL, logger="g3stream"), pytest.raises(G3FatalError) as err:
        log_fatal("cannot", "go on", unit="MyUnit")
    assert isinstance(err.value, RuntimeError)
    assert str(err.value) == "cannot go on (in test_fatal_logs_then_raises)"
    assert err.value.unit == "MyUnit"
    assert caplog.records[-1].levelno == logging.CRITICAL


@pytest.mark.parametrize(
    ("level", "expected"),
    [
        (G3LogLevel.LOG_WARN, logging.WARNING),
        (1, logging.DEBUG),
        (logging.ERROR, logging.ERROR),
        ("LOG_NOTICE", NOTICE),
        ("debug", logging.DEBUG),
        ("info", logging.INFO),
    ],
)
def test_set_log_level_accepts_spt3g_and_stdlib_levels(level, expected):
    set_log_level(level, "MyUnit")
    assert unit_logger("MyUnit").level == expected
    set_log_level(level)
    assert unit_logger(None).level == expected


def test_set_log_level_filters(caplog):
    set_log_level(G3LogLevel.LOG_ERROR, unit="MyUnit")
    with caplog.at_level(logging.DEBUG, logger="g3stream.Python"):
        log_warn("hidden", unit="MyUnit")
        log_error("shown", unit="MyUnit")
    assert [r.getMessage() for r in caplog.records] == ["shown"]


def test_bad_levels_are_typed_errors():
    with pytest.raises(ValueError):
        set_log_level("LOUD")
    with pytest.raises(TypeError):
        set_log_level(2.5)  # type: ignore[arg-type]


LOGGING_SCRIPT = """
import sys
sys.path.insert(0, sys.argv[2])
if sys.argv[1] == "spt3g":
    from spt3g import core
else:
    from g3stream import core
core.set_log_level(core.G3LogLevel.LOG_INFO)
def f():
    core.log_info("hello", 3, unit="U")
f()
core.log_debug("not shown")
core.set_log_level(core.G3LogLevel.LOG_DEBUG, "U")
core.log_debug("shown", unit="U")
core.log_debug("not shown either")
core.G3Logger.global_logger = core.G3PrintfLogger(core.G3LogLevel.LOG_WARN)
core.log_info("hidden again")
core.log_error("an error")
"""


def _stderr_of(which, tmp_path):
    import re
    import subprocess
    import sys
    from pathlib import Path

    script = tmp_path / "script.py"
    script.write_text(LOGGING_SCRIPT)
    src = Path(__file__).resolve().parents[2] / "src"
    proc = subprocess.run(
        [sys.executable, str(script), which, str(src)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    return [
        re.sub(r"\d\d-\w\w\w-\d{4}:\d\d:\d\d:\d\d UTC", "<time>", line)
        for line in proc.stderr.splitlines()
    ]


def test_spt3g_style_output_matches_the_reference(tmp_path):
    pytest.importorskip("spt3g.core")
    ours = _stderr_of("g3stream", tmp_path)
    assert ours == _stderr_of("spt3g", tmp_path)
    assert ours == [
        "INFO (U) <time>: hello 3 (script.py:10 in f)",
        "DEBUG (U) <time>: shown (script.py:14 in <module>)",
        "ERROR (Python) <time>: an error (script.py:18 in <module>)",
    ]


def test_null_logger_silences_and_none_restores(caplog):
    from g3stream.pipeline import G3Logger, G3NullLogger

    try:
        G3Logger.global_logger = G3NullLogger()
        with caplog.at_level(logging.DEBUG):
            log_error("silenced")
        assert caplog.records == []
    finally:
        G3Logger.global_logger = None
    with caplog.at_level(logging.DEBUG):
        log_error("heard")
    assert [r.getMessage() for r in caplog.records] == ["heard"]
