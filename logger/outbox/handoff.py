"""Handing points to the running service's outbox, for a command run by hand next to it.

`jullix-logger ledger` (and any command that produces points) may run while the service drains
the outbox (`logger.outbox.lock`). It must not drain too, and it must not disturb what the
service has in flight. So it only adds committed rows, each under a new id: a waiting row of the
same identity is deleted and the new line inserted above every id the service has read, in one
fsynced transaction. The service's in-flight acknowledgements are guarded by id and line, so a
row replaced this way is never acknowledged in its new form by a write of its old one; its
watermark only ever covers rows it sent. The service delivers the handed points with its next
flushes, as if it had produced them.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable
from pathlib import Path

from logger.core.point import Point, encodable
from logger.outbox.keys import HANDED_OVER, REFUSED_UNENCODABLE

CHUNK = 5000  # rows per transaction: bounded memory, and the service's commits get their turn


class OutboxHandoff:
    """Adds committed points to an outbox another process drains."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        if not self.path.exists():
            raise FileNotFoundError(f"{self.path}: no outbox here")
        self._db = sqlite3.connect(self.path, isolation_level=None, timeout=30.0)
        self.handed = 0
        self.refused = 0

    def put(self, points: Iterable[Point]) -> int:
        """Commit `points` for the service to deliver; returns how many were handed over."""
        rows: list[tuple[str, str, float]] = []
        handed = 0
        for point in points:
            line = point.to_line()
            if not line.isascii() and not encodable(line):
                self.refused += 1
                continue
            rows.append((point.identity, line, time.time()))
            if len(rows) >= CHUNK:
                handed += self._commit(rows)
                rows = []
        if rows:
            handed += self._commit(rows)
        self.handed += handed
        return handed

    def _commit(self, rows: list[tuple[str, str, float]]) -> int:
        db = self._db
        db.execute("PRAGMA synchronous=FULL")
        db.execute("BEGIN IMMEDIATE")
        try:
            db.executemany("DELETE FROM outbox WHERE identity = ?", [(r[0],) for r in rows])
            db.executemany("INSERT INTO outbox (identity, line, accepted_at) VALUES (?, ?, ?)",
                           rows)
            db.execute("INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT(name) "
                       "DO UPDATE SET value = value + excluded.value", (HANDED_OVER, len(rows)))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return len(rows)

    def close(self) -> None:
        if self.refused:
            self._db.execute("INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT(name) "
                             "DO UPDATE SET value = value + excluded.value",
                             (REFUSED_UNENCODABLE, self.refused))
        self._db.close()
