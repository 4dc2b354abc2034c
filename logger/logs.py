"""Logging set-up: readable on a terminal, journald-friendly under systemd.

Under systemd (JOURNAL_STREAM set and stderr is that stream) each line starts with its syslog
priority `<N>` so `journalctl -p warning` works, and carries no timestamp of its own (journald adds
one). On a terminal lines get a short local time and the level name.
"""

from __future__ import annotations

import logging
import os
import sys

_PRIORITY = {
    logging.DEBUG: 7,
    logging.INFO: 6,
    logging.WARNING: 4,
    logging.ERROR: 3,
    logging.CRITICAL: 2,
}


class JournalFormatter(logging.Formatter):
    """`<priority>logger: message`, one line per record (tracebacks folded in)."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record).replace("\n", " | ")
        priority = _PRIORITY.get(record.levelno, 6)
        return f"<{priority}>{text}"


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


def setup_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    if under_journald():
        handler.setFormatter(JournalFormatter("%(name)s: %(message)s"))
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)-7s %(message)s", datefmt="%H:%M:%S")
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Third-party chatter that says nothing a user can act on.
    for noisy in ("apscheduler", "httpx", "httpcore", "urllib3", "influxdb_client"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
