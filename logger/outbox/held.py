"""Lines parked apart while their target cannot take them (issue 19: route per target).

The raw series and the energy ledger go to different places in InfluxDB (the ledger to its own
retention policy or bucket). When the ledger's place is missing or forbidden (a dropped policy,
a user without the right to create one, a write-only token), its lines must not stay at the head
of the queue: the queue is drained in order, so 5,000 of them there would hold back every raw
point behind them for good. They are moved here instead, per target, with the reason, and moved
back into the queue (as new rows, above the watermark) once the target works again, or a chunk
at a time to probe whether it does. Held lines are still points waiting for InfluxDB: `status`
counts them, `check-empty` refuses to call an outbox with held lines empty.

Bounded on its own, like the dead letters: at most `max_rows` a target; the oldest go first,
counted (`held_dropped.<target>`) and logged. Ledger lines can always be computed again from
the raw series (`jullix-logger ledger --since ...`), so this bound costs no measurement.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from logger.core.logs import get_logger
from logger.outbox.keys import held_dropped

log = get_logger(__name__)

HELD_SCHEMA = """
CREATE TABLE IF NOT EXISTS held (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    target TEXT NOT NULL,
    identity TEXT NOT NULL,
    line TEXT NOT NULL,
    accepted_at REAL NOT NULL,
    reason TEXT NOT NULL,
    UNIQUE (target, identity)
);
"""


class HeldRows:
    """The held table of one outbox connection; runs inside the outbox's transactions."""

    def __init__(self, db: sqlite3.Connection, counters: dict[str, int], max_rows: int) -> None:
        self._db = db
        self._counters = counters  # the outbox's pending counters, committed with it
        self.max_rows = max_rows
        # A file from before this table, opened read-only (status, export), has none.
        self.exists = db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND "
                                 "name = 'held'").fetchone() is not None

    def add(self, target: str, rows: Sequence[tuple[str, str, float]], reason: str) -> None:
        """Park (identity, line, accepted_at) rows of `target`; a newer line of the same
        identity replaces an older held one."""
        self._db.executemany(
            "INSERT INTO held (target, identity, line, accepted_at, reason) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (target, identity) DO UPDATE SET "
            "line = excluded.line, reason = excluded.reason",
            [(target, identity, line, accepted, reason) for identity, line, accepted in rows],
        )
        surplus = self._db.execute(
            "DELETE FROM held WHERE id IN (SELECT id FROM held WHERE target = ? "
            "ORDER BY id DESC LIMIT -1 OFFSET ?)", (target, self.max_rows)).rowcount
        if surplus > 0:
            name = held_dropped(target)
            self._counters[name] = self._counters.get(name, 0) + surplus
            log.warning("held %s lines: dropped the oldest %d beyond the %d kept (rebuild them "
                        "with `jullix-logger ledger --since ...` once the target works)",
                        target, surplus, self.max_rows)

    def take(self, target: str, limit: int) -> list[tuple[str, str, float]]:
        """Remove and return up to `limit` of `target`'s held rows, oldest first, for the
        caller to queue again in the same transaction."""
        rows = self._db.execute(
            "SELECT id, identity, line, accepted_at FROM held WHERE target = ? ORDER BY id "
            "LIMIT ?", (target, limit)).fetchall()
        if rows:
            self._db.execute("DELETE FROM held WHERE target = ? AND id <= ?",
                             (target, rows[-1][0]))
        return [(identity, line, accepted) for _, identity, line, accepted in rows]

    def counts(self) -> dict[str, int]:
        """Held lines per target."""
        if not self.exists:
            return {}
        return dict(self._db.execute("SELECT target, COUNT(*) FROM held GROUP BY target"))

    def reasons(self) -> dict[str, str]:
        """Per target, why its newest held line was parked."""
        if not self.exists:
            return {}
        return dict(self._db.execute(
            "SELECT target, reason FROM held WHERE id IN (SELECT max(id) FROM held GROUP BY "
            "target)"))

    def lines(self) -> list[str]:
        if not self.exists:
            return []
        return [line for (line,) in self._db.execute("SELECT line FROM held ORDER BY id")]
