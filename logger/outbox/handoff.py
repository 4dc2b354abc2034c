"""Handing points to the running service's outbox, for a command run by hand next to it.

`jullix-logger ledger` and `backfill` may run while the service drains the outbox
(`logger.outbox.lock`). They must not drain too, and must not disturb what the service has in
flight. So they only add committed rows, each under a new id: a waiting row of the same identity
is deleted and the new line inserted above every id the service has read, in one fsynced
transaction. The service's acknowledgements are guarded by id and line, so a row replaced this
way is never taken as confirmed by a write of its old line, and its watermark only ever covers
rows it sent. The service delivers the handed points with its next flushes. Counters and meta
facts (`count`, `set_meta`) are written with the next `commit`, as the outbox does.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from logger.core.point import Point, encodable
from logger.outbox.facts import PendingFacts
from logger.outbox.keys import HANDED_OVER, REFUSED_UNENCODABLE, accepted

CHUNK = 5000  # rows per transaction: bounded memory, and the service's commits get their turn


class OutboxHandoff:
    """Adds committed points (and counts, meta) to an outbox another process drains."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        if not self.path.exists():
            raise FileNotFoundError(f"{self.path}: no outbox here")
        self._db = sqlite3.connect(self.path, isolation_level=None, timeout=30.0)
        self._facts = PendingFacts()
        self.handed = 0

    def put(self, points: Iterable[Point], source: str | None = None) -> int:
        """Commit `points` for the service to deliver; returns how many were handed over."""
        rows: list[tuple[str, str, float]] = []
        handed = 0
        for point in points:
            line = point.to_line()
            if not line.isascii() and not encodable(line):
                self.count(REFUSED_UNENCODABLE)
                continue
            if source is not None:
                self.count(accepted(source, point.measurement))
            rows.append((point.identity, line, time.time()))
            if len(rows) >= CHUNK:
                handed += self._commit_rows(rows)
                rows = []
        if rows:
            handed += self._commit_rows(rows)
        self.handed += handed
        return handed

    def count(self, name: str, amount: int = 1) -> None:
        self._facts.counters[name] = self._facts.counters.get(name, 0) + amount

    def set_meta(self, key: str, value: str) -> None:
        self._facts.meta[key] = value

    def get_meta(self, key: str) -> str | None:
        if key in self._facts.meta:
            return self._facts.meta[key]
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]

    def commit(self) -> int:
        """Write the pending counts and facts (the points are committed as they are put)."""
        if self._facts:
            self._transaction(lambda: None)
        return 0

    def _commit_rows(self, rows: list[tuple[str, str, float]]) -> int:
        def write() -> None:
            self._db.executemany("DELETE FROM outbox WHERE identity = ?",
                                 [(identity,) for identity, _, _ in rows])
            self._db.executemany(
                "INSERT INTO outbox (identity, line, accepted_at) VALUES (?, ?, ?)", rows)

        self.count(HANDED_OVER, len(rows))
        self._transaction(write)
        return len(rows)

    def _transaction(self, body: Callable[[], None]) -> None:
        db = self._db
        db.execute("PRAGMA synchronous=FULL")
        db.execute("BEGIN IMMEDIATE")
        try:
            body()
            written = self._facts.write(db)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        self._facts.forget(written)

    def close(self) -> None:
        try:
            self.commit()
        finally:
            self._db.close()
