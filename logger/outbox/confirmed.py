"""Rows InfluxDB confirmed whose deletion waits: the watermark of a backlog drain (issue 14).

Deleting a batch of 5,000 rows costs SQLite about 8 ms of CPU (each row and its identity-index
entry, every page rewritten to the WAL). During a backlog drain on a two-core Pi that CPU is taken
from InfluxDB running next to it, and the drain reached only 0.7 of posting the same lines
directly. So the batches of a backlog are not deleted one by one: each batch InfluxDB confirms
moves a watermark, `upto`: every committed row with an id up to it is confirmed, and every reader
of the queue skips those rows (peek, depth, oldest age, the bound, export). The watermark is
stored in `meta` in the same transaction (one small row instead of 5,000 deletions), so a restart
and other processes (`status`, `export`) honour it too. The rows are deleted later, in bounded
chunks, by drains that end within their budget, never while a backlog is still being sent
(`purge`, called by `logger.app.delivery`).

Two rules keep it exact:
- `advance` moves the watermark to a batch's last id only when no queued row lies between the
  watermark and the batch: it only ever covers an unbroken run of confirmed rows. (The caller
  deletes a batch holding a row replaced in flight the guarded way instead.)
- A commit that upserts the identity of a confirmed row not yet deleted deletes that row first
  (`release`), so the new values get a new id above the watermark and are sent.
"""

from __future__ import annotations

import sqlite3

from logger.outbox.keys import CONFIRMED_UPTO


class ConfirmedRows:
    """The watermark of one outbox connection. Its writes run inside the caller's transaction."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db
        row = db.execute("SELECT value FROM meta WHERE key = ?", (CONFIRMED_UPTO,)).fetchone()
        self.upto = int(row[0]) if row else 0
        self.waiting = self._lowest() is not None  # confirmed rows not deleted yet

    def _lowest(self) -> int | None:
        """The lowest id of a confirmed row still in the file (None: there is none)."""
        row = self._db.execute("SELECT min(id) FROM outbox").fetchone()
        lowest = None if row is None else row[0]
        return lowest if lowest is not None and lowest <= self.upto else None

    def advance(self, first: int, last: int) -> bool:
        """Mark the committed rows `first`..`last` (one batch, confirmed) as confirmed, if they
        continue the run below the watermark; False when a queued row lies in between."""
        gap = self._db.execute("SELECT 1 FROM outbox WHERE id > ? AND id < ? LIMIT 1",
                               (self.upto, first)).fetchone()
        if gap is not None:
            return False
        self.upto = max(self.upto, last)
        self.waiting = True
        self._db.execute("INSERT INTO meta (key, value) VALUES (?, ?) "
                         "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                         (CONFIRMED_UPTO, str(self.upto)))
        return True

    def release(self, replaced: set[int]) -> None:
        """Before an upsert of the identities whose committed ids are `replaced`: delete those
        of them that are confirmed, and forget them, so the upsert inserts a new row."""
        confirmed = [row_id for row_id in replaced if row_id <= self.upto]
        if confirmed:
            self._db.executemany("DELETE FROM outbox WHERE id = ?", [(i,) for i in confirmed])
            replaced.difference_update(confirmed)

    def purge(self, limit: int) -> int:
        """Delete up to `limit` confirmed rows, oldest first; returns how many went."""
        lowest = self._lowest() if self.waiting else None
        if lowest is None:
            self.waiting = False
            return 0
        end = min(self.upto, lowest + limit - 1)
        gone = self._db.execute("DELETE FROM outbox WHERE id BETWEEN ? AND ?",
                                (lowest, end)).rowcount
        self.waiting = end < self.upto
        return gone
