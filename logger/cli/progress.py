"""Progress of long work: a rich progress bar with an ETA on a terminal, a log line every 10 s
otherwise (under systemd or in a pipe, where a bar would only fill the journal).

While the bar is up, log lines are printed above it, never into it: rich takes `sys.stderr` over
for that while it runs, and the logging handler (logger/cli/logs.py) writes to whatever
`sys.stderr` is at the time. The tracker also remembers how far the work got, which is what an
interrupted command says (logger/cli/interrupt.py).
"""

from __future__ import annotations

import time
from datetime import date
from typing import Any

from logger.core.logs import get_logger

log = get_logger(__name__)


class DayProgress:
    """Called `(done, total, day, points)` after each day; `stop()` ends the display."""

    def __init__(self, stream: Any, what: str, cumulative: bool = False) -> None:
        self.what = what
        self.cumulative = cumulative  # the callback's points are a running total already
        self.done = self.total = self.points = 0
        self.last_day: date | None = None
        self._last_log = 0.0
        self._bar: Any = None
        if stream.isatty():
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self._bar = Progress(
                TextColumn(f"{what} {{task.description}}"), BarColumn(), MofNCompleteColumn(),
                TextColumn("days, elapsed"), TimeElapsedColumn(), TextColumn("left"),
                TimeRemainingColumn(), console=Console(file=stream), transient=True,
                redirect_stderr=True, redirect_stdout=False)
            self._task = self._bar.add_task("", total=None)
            self._bar.start()

    def __call__(self, done: int, total: int, day: date, points: int) -> None:
        self.done, self.total, self.last_day = done, total, day
        self.points = points if self.cumulative else self.points + points
        if self._bar is not None:
            self._bar.update(self._task, completed=done, total=total,
                             description=day.isoformat())
        elif time.monotonic() - self._last_log >= 10.0 or done == total:
            self._last_log = time.monotonic()
            log.info("%s: %d of %d days done (up to %s; %d points)", self.what, done, total,
                     day.isoformat(), self.points)

    def stop(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
