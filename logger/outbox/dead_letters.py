"""The dead-letter table: points InfluxDB refused for good, kept for a person to look at.

Bounded on its own (issue 13): at most `max_rows` rows and none older than `max_days`; the
oldest go first and every one that goes is counted (`dead_letters_pruned`) and logged. Dead
letters never count against the queue's `max_mb`, so a flood of refused points cannot crowd out
live data, and live data cannot push out the evidence of why points were refused.
"""

from __future__ import annotations

import sqlite3
import time

from logger.core.logs import get_logger
from logger.outbox.keys import DEAD_LETTERED, DEAD_LETTERS_PRUNED

log = get_logger(__name__)


class DeadLetters:
    """The dead-letter table of one outbox connection; runs inside the outbox's transactions."""

    def __init__(self, db: sqlite3.Connection, counters: dict[str, int], max_rows: int,
                 max_days: float) -> None:
        self._db = db
        self._counters = counters  # the outbox's pending counters, committed with it
        self.max_rows = max_rows
        self.max_days = max_days

    def add(self, lines: list[str], error: str, status: int | None) -> None:
        now = time.time()
        self._db.executemany(
            "INSERT INTO dead_letter (line, error, status, failed_at) VALUES (?, ?, ?, ?)",
            [(line, error, status, now) for line in lines],
        )
        self._count(DEAD_LETTERED, len(lines))
        self.prune(now)

    def prune(self, now: float | None = None) -> int:
        """Delete dead letters past the age or count bound; returns how many went."""
        now = time.time() if now is None else now
        aged = self._db.execute("DELETE FROM dead_letter WHERE failed_at < ?",
                                (now - self.max_days * 86400,)).rowcount
        surplus = self._db.execute(
            "DELETE FROM dead_letter WHERE id IN (SELECT id FROM dead_letter ORDER BY id DESC "
            "LIMIT -1 OFFSET ?)", (self.max_rows,)).rowcount
        pruned = max(0, aged) + max(0, surplus)
        if pruned:
            self._count(DEAD_LETTERS_PRUNED, pruned)
            log.warning("dead letters: removed %d (%d older than %g days, %d beyond the %d kept)",
                        pruned, aged, self.max_days, surplus, self.max_rows)
        return pruned

    def count(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM dead_letter").fetchone()[0])

    def newest(self, limit: int = 20) -> list[tuple[str, str, int | None]]:
        cursor = self._db.execute(
            "SELECT line, error, status FROM dead_letter ORDER BY id DESC LIMIT ?", (limit,))
        return list(cursor)

    def _count(self, name: str, amount: int) -> None:
        self._counters[name] = self._counters.get(name, 0) + amount
