"""Deleting acknowledged rows from the outbox file, guarded by the line.

A line replaced while its write was in flight (same identity, new values) must stay queued. The
commits record which committed rows they replace (`note_replaced`); a batch with none of those
is deleted by its id range in one statement (a batch is a run of rows in id order, and new rows
only ever get higher ids), the rest row by row with `line = ?` as the guard.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from logger.outbox.bound import BYTES_SQL, row_bytes
from logger.outbox.schema import Row


def note_replaced(db: sqlite3.Connection, replaced: set[int], identities: list[str]) -> None:
    """Add to `replaced` the ids of committed rows that these identities will overwrite."""
    for start in range(0, len(identities), 500):
        chunk = identities[start:start + 500]
        marks = ",".join("?" * len(chunk))
        replaced.update(row_id for (row_id,) in db.execute(
            f"SELECT id FROM outbox WHERE identity IN ({marks})", chunk))


def delete_rows(db: sqlite3.Connection, replaced: set[int], by_id: Sequence[Row],
                by_identity: Sequence[Row]) -> int:
    """Delete rows whose line is still the one sent; returns the bytes they freed. The
    bound's byte count is an upper estimate: it shrinks only by rows known to be gone, and
    `QueueBound.over` measures exactly before anything is dropped."""
    freed = 0
    if by_id and not replaced.intersection(r.id for r in by_id):
        # A batch is a run of rows in id order, and new rows only get higher ids: its id
        # range holds exactly its rows, none replaced since (see `note_replaced`).
        ids = [r.id for r in by_id]
        cursor = db.execute("DELETE FROM outbox WHERE id BETWEEN ? AND ?",
                            (min(ids), max(ids)))  # type: ignore[type-var]
        if cursor.rowcount == len(by_id):
            freed += sum(row_bytes(r.identity, r.line) for r in by_id)
        by_id = []
    for where, rows, key in (("id = ? AND line = ?", by_id, "id"),
                             ("identity = ? AND line = ?", by_identity, "identity")):
        if not rows:
            continue
        cursor = db.executemany(f"DELETE FROM outbox WHERE {where}",
                                [(getattr(r, key), r.line) for r in rows])
        if cursor.rowcount == len(rows):
            freed += sum(row_bytes(r.identity, r.line) for r in rows)
    if by_id:  # the guarded path: forget what is gone
        replaced.difference_update(
            r.id for r in by_id if r.id is not None and db.execute(
                "SELECT 1 FROM outbox WHERE id = ?", (r.id,)).fetchone() is None)
    return freed


def delete_batch(db: sqlite3.Connection, replaced: set[int],
                 batch: Sequence[tuple[int, str]]) -> int:
    """`delete_rows` for a run of committed (id, line) rows, the bytes freed summed by SQLite
    (no Python work per row: it runs in a worker thread while the loop sends)."""
    first, last = batch[0][0], batch[-1][0]
    if any(first <= row_id <= last for row_id in replaced):
        return delete_rows(db, replaced, [Row(i, line) for i, line in batch], [])
    freed = db.execute(BYTES_SQL + " FROM outbox WHERE id BETWEEN ? AND ?", (first, last))
    total = int(freed.fetchone()[0])
    db.execute("DELETE FROM outbox WHERE id BETWEEN ? AND ?", (first, last))
    return total
