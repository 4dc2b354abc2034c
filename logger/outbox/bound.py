"""The queue's size bound (`[outbox] max_mb`), computed from the queue alone (issue 13).

What counts is each committed row's line, its identity twice (the row and the unique index) and
`ROW_OVERHEAD` bytes; dead letters (bounded on their own), meta, counters and free pages do not.
Measuring that exactly is a scan of the queue, so between measurements `QueueBound` keeps an
upper estimate: it grows by every committed row (an upsert that replaced a row counts twice)
and shrinks only by rows known to be gone. It is measured exactly at open and before anything
is dropped, so an overestimate costs at most a scan, never a point.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from logger.core.logs import get_logger
from logger.outbox.keys import OVERFLOW_DROPPED

log = get_logger(__name__)

ROW_OVERHEAD = 32  # bytes a queued row costs beyond its line and (twice) its identity
BYTES_SQL = f"SELECT COALESCE(SUM(length(line) + 2 * length(identity) + {ROW_OVERHEAD}), 0)"


def row_bytes(identity: str, line: str) -> int:
    return len(line) + 2 * len(identity) + ROW_OVERHEAD


class QueueBound:
    """The `max_mb` bound and the overflow policy of one outbox connection."""

    def __init__(self, db: sqlite3.Connection, counters: dict[str, int], max_bytes: int,
                 overflow: str, floor: Callable[[], int] = lambda: 0) -> None:
        self._db = db
        self._floor = floor  # rows up to this id are confirmed, not queued (`ConfirmedRows`)
        self._counters = counters  # the outbox's pending counters, committed with it
        self.max_bytes = max_bytes
        self.overflow = overflow
        self.estimate = self.measure()

    def measure(self) -> int:
        return int(self._db.execute(BYTES_SQL + " FROM outbox WHERE id > ?",
                                    (self._floor(),)).fetchone()[0])

    def over(self) -> bool:
        """True when the queue is past the bound (measured exactly when the estimate says so)."""
        if self.estimate <= self.max_bytes:
            return False
        self.estimate = self.measure()
        return self.estimate > self.max_bytes

    def drop_excess(self) -> int:
        """Apply the overflow policy inside the caller's transaction; returns points dropped.

        drop_oldest keeps the most recent data (a dashboard's view); drop_newest keeps the
        oldest (the history that nothing else can restore). Either way each dropped point is
        counted and logged, never silent. A tenth more than the excess goes, so the bound is
        not hit again at every commit.
        """
        floor = self._floor()
        depth = int(self._db.execute("SELECT COUNT(*) FROM outbox WHERE id > ?",
                                     (floor,)).fetchone()[0])
        if not depth:
            return 0
        excess_fraction = (self.estimate - self.max_bytes) / self.estimate + 0.1
        to_drop = max(1, min(depth, int(depth * excess_fraction)))
        order = "ASC" if self.overflow == "drop_oldest" else "DESC"
        chosen = f"id IN (SELECT id FROM outbox WHERE id > ? ORDER BY id {order} LIMIT ?)"
        freed = self._db.execute(BYTES_SQL + f" FROM outbox WHERE {chosen}",
                                 (floor, to_drop)).fetchone()
        self._db.execute(f"DELETE FROM outbox WHERE {chosen}", (floor, to_drop))
        self.estimate -= int(freed[0])
        self._counters[OVERFLOW_DROPPED] = self._counters.get(OVERFLOW_DROPPED, 0) + to_drop
        log.warning(
            "outbox reached its bound of %.1f MB: dropped the %s %d points (policy %s)",
            self.max_bytes / 1024 / 1024,
            "oldest" if self.overflow == "drop_oldest" else "newest",
            to_drop,
            self.overflow,
        )
        return to_drop
