"""Logging set-up: readable on a terminal, journald-friendly under systemd.

Under systemd (JOURNAL_STREAM set and stderr is that stream) each line starts with its syslog
priority `<N>` so `journalctl -p warning` works, and carries no timestamp of its own (journald adds
one). On a terminal lines get a short local time and the level name.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

_PRIORITY = {
    logging.DEBUG: 7,
    logging.INFO: 6,
    logging.WARNING: 4,
    logging.ERROR: 3,
    logging.CRITICAL: 2,
}


class JournalFormatter(logging.Formatter):
    """`<priority>message`, one line per record (tracebacks folded in)."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record).replace("\n", " | ")
        priority = _PRIORITY.get(record.levelno, 6)
        return f"<{priority}>{text}"


class RepeatFilter(logging.Filter):
    """Drops repeats of the same warning within `window` seconds, and says so afterwards.

    "The same" means the same logger, level, message template and arguments (the rendered text
    of a message with a changing number is a different message and passes). The first one is
    logged; repeats inside the window are counted and dropped; the first one after the window
    carries "(N similar suppressed in the last W s)". Records below `min_level` always pass.
    No timestamps, no colours: this only decides what reaches the handler.
    """

    def __init__(
        self,
        window: float = 60.0,
        min_level: int = logging.WARNING,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 1000,
    ) -> None:
        super().__init__()
        self.window = window
        self.min_level = min_level
        self.clock = clock
        self.max_keys = max_keys
        self._seen: dict[tuple[str, int, str, str], list[float]] = {}
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < self.min_level:
            return True
        try:
            key = (record.name, record.levelno, str(record.msg), repr(record.args))
        except Exception:  # an argument whose repr fails: never lose the record over it
            return True
        with self._lock:
            now = self.clock()
            entry = self._seen.get(key)
            if entry is not None and now - entry[0] < self.window:
                entry[1] += 1
                return False
            suppressed = int(entry[1]) if entry is not None else 0
            self._seen.pop(key, None)
            self._seen[key] = [now, 0]
            if len(self._seen) > self.max_keys:
                del self._seen[next(iter(self._seen))]  # the least recently logged
        if suppressed:
            record.msg = (
                f"{record.getMessage()} ({suppressed} similar suppressed in the last "
                f"{self.window:.0f} s)"
            )
            record.args = ()
        return True


def under_journald() -> bool:
    """True when stderr is connected to the journal (systemd sets JOURNAL_STREAM to dev:inode)."""
    stream = os.environ.get("JOURNAL_STREAM")
    if not stream:
        return False
    try:
        device, inode = (int(part) for part in stream.split(":"))
        stat = os.fstat(sys.stderr.fileno())
    except (ValueError, OSError):
        return False
    return (stat.st_dev, stat.st_ino) == (device, inode)


class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is when the record comes: a progress bar that takes
    stderr over while it runs (logger/cli/progress.py) then prints the line above itself
    instead of having it written through the bar."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


def setup_logging(level: str = "INFO") -> None:
    handler = StderrHandler()
    if under_journald():
        # journald adds the program's name (SyslogIdentifier) and the time to each line; the
        # module path in front of every message would only repeat itself.
        handler.setFormatter(JournalFormatter("%(message)s"))
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)-7s %(message)s", datefmt="%H:%M:%S")
        )
    handler.addFilter(RepeatFilter())  # a flood of one warning becomes one line a minute
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Third-party chatter that says nothing a user can act on.
    for noisy in ("apscheduler", "httpx", "httpcore", "urllib3", "influxdb_client"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
