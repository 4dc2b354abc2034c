"""Progress of long work: a rich progress bar on a terminal, a log line every 10 s otherwise
(under systemd or in a pipe, where a bar would only fill the journal)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date
from typing import Any

from logger.core.logs import get_logger

log = get_logger(__name__)

DayProgress = Callable[[int, int, date, int], None]


def day_progress(stream: Any, what: str) -> tuple[DayProgress, Callable[[], None]]:
    """A callback `(done, total, day, points)` and a function that ends the display."""
    if stream.isatty():
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        bar = Progress(TextColumn(f"{what} {{task.description}}"), BarColumn(),
                       MofNCompleteColumn(), transient=True)
        task = bar.add_task("", total=None)
        bar.start()

        def on_day(done: int, total: int, day: date, points: int) -> None:
            bar.update(task, completed=done, total=total, description=day.isoformat())

        return on_day, bar.stop
    last = [0.0]

    def log_day(done: int, total: int, day: date, points: int) -> None:
        if time.monotonic() - last[0] >= 10.0 or done == total:
            last[0] = time.monotonic()
            log.info("%s: %d of %d days done (%s: %d points)", what, done, total,
                     day.isoformat(), points)

    return log_day, lambda: None
