"""Progress on a terminal: an ETA, and log lines printed above the bar, never through it."""

from __future__ import annotations

import io
import logging
import sys
from datetime import date

from logger.cli.logs import setup_logging
from logger.cli.progress import DayProgress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_log_line_during_the_bar_goes_above_it_through_the_bar_s_console(monkeypatch):
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)  # the logging handler writes to sys.stderr
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        setup_logging("INFO")
        progress = DayProgress(terminal, "ledger", cumulative=True)
        progress(1, 4, date(2026, 11, 1), 10)
        assert sys.stderr is not terminal  # rich holds stderr while the bar is up ...
        logging.getLogger("jullix_logger.test").warning("InfluxDB answered slowly")
        progress(2, 4, date(2026, 11, 2), 20)
        progress.stop()
        assert sys.stderr is terminal  # ... and gives it back
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
    text = terminal.getvalue()
    # The line arrived on the bar's console, on a line of its own.
    line = next(part for part in text.splitlines() if "InfluxDB answered slowly" in part)
    assert "ledger" not in line and "━" not in line
    assert (progress.done, progress.total, progress.points) == (2, 4, 20)


def test_the_bar_shows_the_time_left(monkeypatch):
    terminal = Terminal()
    progress = DayProgress(terminal, "backfill")
    columns = [type(c).__name__ for c in progress._bar.columns]
    progress.stop()
    assert "TimeRemainingColumn" in columns
