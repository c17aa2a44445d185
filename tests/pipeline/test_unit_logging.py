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
    # the record points at the caller, not at the logging helpers
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
