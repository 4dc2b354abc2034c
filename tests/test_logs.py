"""Logging: `<N>` priorities and no timestamps under journald, repeated warnings rate-limited."""

from __future__ import annotations

import logging
import os
import re
import sys

import pytest

from logger.cli.logs import RepeatFilter, setup_logging, under_journald


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make_logger(filt: logging.Filter) -> tuple[logging.Logger, list[str]]:
    seen: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(self.format(record))

    handler = Collect()
    handler.addFilter(filt)
    log = logging.getLogger(f"test.logs.{id(seen)}")
    log.handlers[:] = [handler]
    log.propagate = False
    log.setLevel(logging.DEBUG)
    return log, seen


def test_repeats_within_the_window_are_suppressed_then_counted():
    clock = Clock()
    log, seen = make_logger(RepeatFilter(window=60, clock=clock))
    for _ in range(5):
        log.warning("InfluxDB write failed (%s)", "HTTP 500")
        clock.now += 1
    assert seen == ["InfluxDB write failed (HTTP 500)"]
    clock.now += 60
    log.warning("InfluxDB write failed (%s)", "HTTP 500")
    assert seen[-1] == "InfluxDB write failed (HTTP 500) (4 similar suppressed in the last 60 s)"
    log.warning("InfluxDB write failed (%s)", "HTTP 500")  # a new window began
    assert len(seen) == 2


def test_different_arguments_or_templates_are_different_messages():
    clock = Clock()
    log, seen = make_logger(RepeatFilter(window=60, clock=clock))
    log.warning("bad CRC in telegram %d", 1)
    log.warning("bad CRC in telegram %d", 2)
    log.warning("garbage from %s", "local")
    log.error("bad CRC in telegram %d", 1)  # another level is another message
    assert len(seen) == 4


def test_info_and_debug_are_never_suppressed():
    log, seen = make_logger(RepeatFilter(window=60, clock=Clock()))
    for _ in range(3):
        log.info("polled")
    assert seen == ["polled"] * 3


def test_a_percent_sign_in_the_text_survives_the_note():
    clock = Clock()
    log, seen = make_logger(RepeatFilter(window=10, clock=clock))
    log.warning("battery at %s", "100%")
    log.warning("battery at %s", "100%")
    clock.now += 11
    log.warning("battery at %s", "100%")
    assert seen[-1] == "battery at 100% (1 similar suppressed in the last 10 s)"


def test_the_memory_of_messages_is_bounded():
    filt = RepeatFilter(window=60, clock=Clock(), max_keys=10)
    log, _ = make_logger(filt)
    for n in range(100):
        log.warning("message %d", n)
    assert len(filt._seen) <= 10


@pytest.fixture
def journal_stderr(tmp_path, monkeypatch):
    """stderr is a file and JOURNAL_STREAM names it, as systemd does for a journal stream."""
    path = tmp_path / "stderr.txt"
    handle = open(path, "w", encoding="utf-8")  # noqa: SIM115
    stat = os.fstat(handle.fileno())
    monkeypatch.setenv("JOURNAL_STREAM", f"{stat.st_dev}:{stat.st_ino}")
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    yield path, handle
    root.handlers[:], level = saved
    root.setLevel(level)
    handle.close()


def test_under_journald_lines_have_a_priority_and_no_time_or_colour(journal_stderr,
                                                                    monkeypatch):
    path, handle = journal_stderr
    # Here, not in the fixture: pytest's output capture re-assigns sys.stderr between phases.
    monkeypatch.setattr(sys, "stderr", handle)
    assert under_journald()
    setup_logging("INFO")
    log = logging.getLogger("logger.test")
    log.info("started")
    log.warning("InfluxDB write failed")
    for _ in range(5):
        log.warning("InfluxDB write failed")
    try:
        raise ValueError("boom")
    except ValueError:
        log.exception("job failed")
    handle.flush()
    lines = path.read_text().splitlines()
    # journald adds the program's name and the time; the module path would only repeat itself
    assert lines[0] == "<6>started"
    assert lines[1] == "<4>InfluxDB write failed"
    assert lines[2].startswith("<3>job failed | Traceback")  # one line per record
    assert len(lines) == 3  # the repeats were suppressed
    text = path.read_text()
    assert "\x1b[" not in text
    assert not re.search(r"\d\d:\d\d:\d\d", text)


def test_a_journal_stream_of_another_file_is_not_journald(tmp_path, monkeypatch):
    monkeypatch.setenv("JOURNAL_STREAM", "1:2")
    assert not under_journald()
    monkeypatch.delenv("JOURNAL_STREAM")
    assert not under_journald()
