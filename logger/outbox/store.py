"""The durable queue between sources and InfluxDB, which doubles as the embedded store.

Every point is committed here before anything else happens to it; rows leave only after InfluxDB
answered 2xx (or, for a point InfluxDB can never accept, into the dead-letter table). Why SQLite:
one file, crash-safe (WAL), readable by `status` and `export` while the service runs.

Commits are batched (about once a second, see `commit`) because an SD card wears with every
fsync. A point counts as *accepted* once it is committed; what was only pending in memory when
the process died is the price of that batching and is at most one commit interval.

The queue is keyed by point identity: putting a point whose identity is already waiting replaces
the waiting line (InfluxDB would keep the last write anyway), so repeats never grow the queue.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from logger.core.logs import get_logger
from logger.core.point import Point
from logger.outbox.keys import DEAD_LETTERED, OVERFLOW_DROPPED, accepted

log = get_logger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    identity TEXT NOT NULL UNIQUE,
    line TEXT NOT NULL,
    accepted_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS dead_letter (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    line TEXT NOT NULL,
    error TEXT NOT NULL,
    status INTEGER,
    failed_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS counters (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
"""


@dataclass(frozen=True, slots=True)
class Row:
    """One queued line and its row id (needed to delete it after a successful write)."""

    id: int
    line: str


@dataclass(frozen=True, slots=True)
class OutboxStats:
    depth: int
    dead_letters: int
    size_bytes: int
    counters: dict[str, int]
    meta: dict[str, str]


class Outbox:
    """SQLite-backed durable queue. Use from one thread (the event loop's)."""

    def __init__(
        self,
        path: Path,
        max_mb: float = 200.0,
        overflow: str = "drop_oldest",
        read_only: bool = False,
    ) -> None:
        self.path = Path(path)
        self.max_bytes = int(max_mb * 1024 * 1024)
        self.overflow = overflow
        self._pending: dict[str, str] = {}
        self._pending_meta: dict[str, str] = {}
        self._pending_counters: dict[str, int] = {}
        self._read_only = read_only
        if read_only:
            if not self.path.exists():
                raise FileNotFoundError(f"{self.path}: no outbox here")
            uri = f"file:{self.path}?mode=ro"
            self._db = sqlite3.connect(uri, uri=True, isolation_level=None, timeout=5.0)
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, isolation_level=None, timeout=10.0)
        self._db.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode: a commit is durable against a process crash (kill -9); only an
        # OS crash or power cut can lose the last commits, and it never corrupts the file.
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)

    # -- accepting points -------------------------------------------------------------

    def put(self, points: Iterable[Point], source: str | None = None) -> int:
        """Queue points in memory until the next `commit`; returns how many were given.

        With `source`, each point is also counted as accepted from that source, per
        measurement (`keys.accepted`), in the same commit as the points themselves.
        """
        count = 0
        for point in points:
            self._pending[point.identity] = point.to_line()
            if source is not None:
                self.count(accepted(source, point.measurement))
            count += 1
        return count

    def put_lines(self, lines: Iterable[tuple[str, str]]) -> None:
        """Queue raw (identity, line) pairs, e.g. re-queued lines from an export."""
        for identity, line in lines:
            self._pending[identity] = line

    @property
    def pending(self) -> int:
        return len(self._pending)

    def set_meta(self, key: str, value: str) -> None:
        """Remember a small fact (last write, last sample time) with the next commit."""
        self._pending_meta[key] = value

    def count(self, name: str, amount: int = 1) -> None:
        """Add to a persistent counter (overflow drops, dead letters, skips) at next commit."""
        self._pending_counters[name] = self._pending_counters.get(name, 0) + amount

    def commit(self) -> int:
        """Make pending points durable in one transaction; returns how many rows were written."""
        if not (self._pending or self._pending_meta or self._pending_counters):
            return 0
        now = time.time()
        rows = list(self._pending.items())
        written = 0
        with self._transaction():
            if rows:
                self._db.executemany(
                    "INSERT INTO outbox (identity, line, accepted_at) VALUES (?, ?, ?) "
                    "ON CONFLICT(identity) DO UPDATE SET line = excluded.line",
                    [(identity, line, now) for identity, line in rows],
                )
                written = len(rows)
            self._flush_meta_and_counters()
        self._pending.clear()
        if rows:
            self._enforce_bound()
        return written

    def _flush_meta_and_counters(self) -> None:
        if self._pending_meta:
            self._db.executemany(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                list(self._pending_meta.items()),
            )
            self._pending_meta.clear()
        if self._pending_counters:
            self._db.executemany(
                "INSERT INTO counters (name, value) VALUES (?, ?) "
                "ON CONFLICT(name) DO UPDATE SET value = value + excluded.value",
                list(self._pending_counters.items()),
            )
            self._pending_counters.clear()

    # -- bound ------------------------------------------------------------------------

    def used_bytes(self) -> int:
        """Bytes of live pages; freed pages are reused, so this is what matters for the bound."""
        page_size = self._db.execute("PRAGMA page_size").fetchone()[0]
        page_count = self._db.execute("PRAGMA page_count").fetchone()[0]
        free = self._db.execute("PRAGMA freelist_count").fetchone()[0]
        return (page_count - free) * page_size

    def _enforce_bound(self) -> None:
        """Apply the overflow policy when the store grew past `max_mb`.

        drop_oldest keeps the most recent data (a dashboard's view); drop_newest keeps the
        oldest (the history that nothing else can restore). Either way each dropped point is
        counted and logged, never silent.
        """
        used = self.used_bytes()
        if used <= self.max_bytes:
            return
        depth = self.depth()
        if depth == 0:
            return
        # Remove a tenth more than the excess so the bound is not hit again at every commit.
        excess_fraction = (used - self.max_bytes) / used + 0.1
        to_drop = max(1, min(depth, int(depth * excess_fraction)))
        order = "ASC" if self.overflow == "drop_oldest" else "DESC"
        with self._transaction():
            self._db.execute(
                f"DELETE FROM outbox WHERE id IN (SELECT id FROM outbox ORDER BY id {order} "
                "LIMIT ?)",
                (to_drop,),
            )
            self._pending_counters[OVERFLOW_DROPPED] = to_drop
            self._flush_meta_and_counters()
        log.warning(
            "outbox reached its bound of %.1f MB: dropped the %s %d points (policy %s)",
            self.max_bytes / 1024 / 1024,
            "oldest" if self.overflow == "drop_oldest" else "newest",
            to_drop,
            self.overflow,
        )

    # -- draining ---------------------------------------------------------------------

    def peek(self, limit: int) -> list[Row]:
        """The oldest committed rows, not removed: they leave only through `ack`."""
        cursor = self._db.execute("SELECT id, line FROM outbox ORDER BY id LIMIT ?", (limit,))
        return [Row(row_id, line) for row_id, line in cursor]

    def ack(self, rows: Sequence[Row]) -> None:
        """Delete rows InfluxDB has confirmed (2xx).

        A row whose line was replaced while its write was in flight (same identity, new
        values) stays queued: the server has the old values, and the new ones must follow.
        """
        if not rows:
            return
        with self._transaction():
            self._db.executemany(
                "DELETE FROM outbox WHERE id = ? AND line = ?", [(r.id, r.line) for r in rows]
            )

    def dead_letter(self, rows: Sequence[Row], error: str, status: int | None) -> None:
        """Move rows InfluxDB can never accept out of the queue, keeping the server's reason."""
        if not rows:
            return
        now = time.time()
        with self._transaction():
            self._db.executemany(
                "INSERT INTO dead_letter (line, error, status, failed_at) VALUES (?, ?, ?, ?)",
                [(r.line, error, status, now) for r in rows],
            )
            self._db.executemany("DELETE FROM outbox WHERE id = ?", [(r.id,) for r in rows])
            self._pending_counters[DEAD_LETTERED] = (
                self._pending_counters.get(DEAD_LETTERED, 0) + len(rows)
            )
            self._flush_meta_and_counters()

    # -- reading ----------------------------------------------------------------------

    def depth(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])

    def oldest_accepted_at(self) -> float | None:
        """When the oldest waiting point was committed (epoch seconds); None when empty."""
        row = self._db.execute("SELECT accepted_at FROM outbox ORDER BY id LIMIT 1").fetchone()
        return None if row is None else float(row[0])

    def iter_lines(self, dead_letters: bool = False) -> Iterable[str]:
        """Every stored line in acceptance order, for `export`."""
        table = "dead_letter" if dead_letters else "outbox"
        yield from (line for (line,) in self._db.execute(f"SELECT line FROM {table} ORDER BY id"))

    def dead_letter_rows(self, limit: int = 20) -> list[tuple[str, str, int | None]]:
        cursor = self._db.execute(
            "SELECT line, error, status FROM dead_letter ORDER BY id DESC LIMIT ?", (limit,)
        )
        return list(cursor)

    def get_meta(self, key: str) -> str | None:
        if key in self._pending_meta:
            return self._pending_meta[key]
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]

    def stats(self) -> OutboxStats:
        counters = dict(self._db.execute("SELECT name, value FROM counters"))
        for name, value in self._pending_counters.items():
            counters[name] = counters.get(name, 0) + value
        meta = dict(self._db.execute("SELECT key, value FROM meta"))
        meta.update(self._pending_meta)
        dead = int(self._db.execute("SELECT COUNT(*) FROM dead_letter").fetchone()[0])
        return OutboxStats(self.depth(), dead, self.used_bytes(), counters, meta)

    # -- plumbing ---------------------------------------------------------------------

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)

    def close(self) -> None:
        """Commit what is pending and close the file."""
        if not self._read_only:
            self.commit()
        self._db.close()


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on error (sqlite3's autocommit mode is off)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self._db.execute("COMMIT")
        else:
            self._db.execute("ROLLBACK")
