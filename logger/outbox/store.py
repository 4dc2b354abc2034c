"""The durable queue between sources and InfluxDB, which doubles as the embedded store.

Why SQLite: one file, crash-safe (WAL), readable by `status` and `export` while the service runs.

Gentle on an SD card (issue 14). A point first waits in memory. InfluxDB usually confirms it
within a second (the flush job sends memory and disk alike, see `peek`); a point confirmed from
memory never touches the disk. A point still unconfirmed when it has waited `commit_due`'s
threshold (`COMMIT_AGE` of `commit_interval`) is committed, with every other pending point, in
one transaction that is fsynced (`synchronous=FULL`). The durability promise, exact (README and
docs/durability.md): a `kill -9` or a power cut loses only points received less than
`commit_interval` seconds before it that InfluxDB had not confirmed; nothing else (and the
service commits a finished local poll's unconfirmed points at once: `unconfirmed`). Meta and
counters ride along with point commits, or are committed alone at most every `META_INTERVAL`.

The queue is keyed by point identity: putting a point whose identity is already waiting replaces
the waiting line (InfluxDB would keep the last write anyway), so repeats never grow the queue.
Rows leave only after InfluxDB answered 2xx (`ack`), or into the dead-letter table for points it
can never accept (`dead_letter`, bounded separately by `DeadLetters`). Both are guarded by the
line: a line replaced while its write was in flight stays queued. A drained backlog's rows leave
the queue behind a watermark first and the file later (`logger.outbox.confirmed`).

Issue 19: a line no UTF-8 can carry (a lone surrogate) is refused at the door and counted; a
failed commit (disk full) rolls back whole, memory included (`commit_failing`; memory then holds
at most `MEMORY_CAP` points); lines whose target cannot take them are parked apart (`hold`).
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from logger.core.files import adopt_owner
from logger.core.line_protocol import identity_of_line
from logger.core.logs import get_logger
from logger.core.point import Point, encodable
from logger.outbox.bound import BYTES_SQL, QueueBound, row_bytes
from logger.outbox.confirmed import ConfirmedRows
from logger.outbox.dead_letters import DeadLetters
from logger.outbox.deletes import delete_batch, delete_rows, note_replaced
from logger.outbox.facts import PendingFacts
from logger.outbox.held import HeldRows
from logger.outbox.keys import COMMIT_FAILED, MEMORY_DROPPED, REFUSED_UNENCODABLE, accepted, held
from logger.outbox.lock import OutboxLock
from logger.outbox.reading import OutboxReads
from logger.outbox.schema import SCHEMA, Row
from logger.outbox.transaction import Transaction

log = get_logger(__name__)

COMMIT_AGE = 0.4  # of commit_interval: the age at which pending points are committed
META_INTERVAL = 30.0  # seconds: the longest meta facts and counters wait alone in memory
MEMORY_CAP = 200_000  # points memory holds at most while commits keep failing (~60 MB)
HELD_MAX = 500_000  # held lines kept per target (`logger.outbox.held`)


@dataclass(slots=True)
class _Pending:
    line: str
    received: float  # time.monotonic(), for commit_due
    received_wall: float  # time.time(), stored as accepted_at


class Outbox(OutboxReads):
    """SQLite-backed durable queue with an in-memory front. Use from one thread (the loop's)."""

    def __init__(
        self,
        path: Path,
        max_mb: float = 200.0,
        overflow: str = "drop_oldest",
        read_only: bool = False,
        commit_interval: float = 5.0,
        dead_letter_max: int = 10_000,
        dead_letter_days: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        lock: OutboxLock | None = None,  # held until `close` (logger.outbox.lock)
    ) -> None:
        self.path = Path(path)
        self._outbox_lock = lock
        self.max_bytes = int(max_mb * 1024 * 1024)
        self.overflow = overflow
        self.commit_interval = commit_interval
        self._pending: dict[str, _Pending] = {}
        self._facts = PendingFacts()  # meta facts and counts, forgotten once committed
        self.commit_failing: str | None = None  # why the last commit failed, None once one works
        self._clock = clock  # monotonic seconds; a benchmark may drive it
        self._last_meta_commit = clock()
        self._read_only = read_only
        self._lock = threading.Lock()
        self._reader: sqlite3.Connection | None = None  # see peek_committed_after
        self._replaced: set[int] = set()  # committed rows whose line changed (`_note_replaced`)
        if read_only:
            if not self.path.exists():
                raise FileNotFoundError(f"{self.path}: no outbox here")
            uri = f"file:{self.path}?mode=ro"
            self._db = sqlite3.connect(uri, uri=True, isolation_level=None, timeout=5.0)
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # check_same_thread=False: `Delivery` acknowledges and reads committed batches in a
            # worker thread while the next POST is in flight; every transaction and those
            # reads hold `_lock`, so the two threads never interleave inside one.
            self._db = sqlite3.connect(self.path, isolation_level=None, timeout=10.0,
                                       check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            # NORMAL in WAL mode: a transaction survives a process crash but not necessarily a
            # power cut. Enough for deletes (an ack lost to a power cut only re-sends points
            # InfluxDB already has, under the same identity: no duplicate) and for meta. The
            # commits of points are `durable` transactions: FULL, the WAL fsynced before they
            # return, so a committed point survives a power cut too (docs/durability.md).
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(SCHEMA)
            for suffix in ("", "-wal", "-shm"):  # root in the service's directory (files.py)
                adopt_owner(self.path.with_name(self.path.name + suffix))
        self.confirmed = ConfirmedRows(self._db)
        counters = self._facts.counters
        self.dead_letters = DeadLetters(self._db, counters, dead_letter_max, dead_letter_days)
        self.held = HeldRows(self._db, counters, HELD_MAX)
        self.bound = QueueBound(self._db, counters, self.max_bytes, overflow,
                                floor=lambda: self.confirmed.upto)
        if not read_only:
            with self._transaction(meta=True):
                self.dead_letters.prune()

    # -- accepting points -------------------------------------------------------------

    def put(self, points: Iterable[Point], source: str | None = None) -> int:
        """Queue points in memory (see the module doc); returns how many were given.

        With `source`, each point is also counted as accepted from that source, per
        measurement (`keys.accepted`), with the next commit of counters.
        """
        if source is None:
            return self._put((point.identity, point.to_line()) for point in points)
        counted: list[tuple[str, str]] = []
        for point in points:
            counted.append((point.identity, point.to_line()))
            self.count(accepted(source, point.measurement))
        return self._put(counted)

    def put_lines(self, lines: Iterable[tuple[str, str]]) -> None:
        """Queue raw (identity, line) pairs, e.g. re-queued lines from an export."""
        self._put(lines)

    def _put(self, pairs: Iterable[tuple[str, str]]) -> int:
        mono, wall = self._clock(), time.time()
        pending = self._pending
        count = 0
        for identity, line in pairs:
            if not line.isascii() and not encodable(line):
                self.count(REFUSED_UNENCODABLE)
                log.warning("outbox: refused a point whose text no UTF-8 can carry (a lone "
                            "surrogate); it would fail every commit and write: %.200r", line)
                continue
            waiting = pending.get(identity)
            if waiting is None:
                pending[identity] = _Pending(line, mono, wall)
            else:  # the newest values, but the first arrival decides when it is committed
                waiting.line = line
            count += 1
        if self.commit_failing is not None and len(pending) > MEMORY_CAP:
            self._drop_oldest_pending(len(pending) - MEMORY_CAP)
        return count

    def _drop_oldest_pending(self, surplus: int) -> None:
        """Commits keep failing and memory is at its cap: the oldest waiting points go,
        counted, so a full SD card during an InfluxDB outage cannot exhaust the Pi's RAM."""
        for identity in list(self._pending)[:surplus]:
            del self._pending[identity]
        self.count(MEMORY_DROPPED, surplus)
        log.warning("outbox: commits are failing (%s) and memory holds %d points: dropped the "
                    "oldest %d", self.commit_failing, MEMORY_CAP, surplus)

    def set_meta(self, key: str, value: str) -> None:
        """Remember a small fact (last write, last sample time) with a later commit."""
        self._facts.meta[key] = value

    def count(self, name: str, amount: int = 1) -> None:
        """Add to a persistent counter (overflow drops, dead letters, skips) at a later commit."""
        counters = self._facts.counters
        counters[name] = counters.get(name, 0) + amount

    # -- committing -------------------------------------------------------------------

    def commit_due(self, now: float | None = None) -> int:
        """The service's periodic commit: everything pending once the oldest point has waited
        `COMMIT_AGE * commit_interval` (run it at least every `COMMIT_AGE / 2` of the interval
        and no point waits unconfirmed in memory longer than `commit_interval`); meta and
        counters alone at most every `META_INTERVAL`. Returns how many points were committed."""
        now = self._clock() if now is None else now
        age = self.oldest_pending_age(now)
        meta_due = now - self._last_meta_commit >= META_INTERVAL
        if age is not None and age >= COMMIT_AGE * self.commit_interval:
            return self.commit(meta=meta_due)  # during an outage: fewer pages per commit
        if meta_due and self._facts:
            self.commit(points=False)
        return 0

    def commit(self, points: bool = True, meta: bool = True) -> int:
        """Make what is pending durable in one transaction, fsynced when it holds points;
        returns the points. `meta=False` leaves meta facts and counters for a later commit.

        A commit that fails rolls back whole and raises: points, facts and counts stay in
        memory for the next try, and `commit_failing` says why until a commit works again."""
        rows = list(self._pending.items()) if points else []
        if not (rows or (meta and self._facts)):
            return 0
        try:
            with self._transaction(durable=bool(rows), meta=meta):
                if rows:
                    self._note_replaced([identity for identity, _ in rows])
                    self._db.executemany(
                        "INSERT INTO outbox (identity, line, accepted_at) VALUES (?, ?, ?) "
                        "ON CONFLICT(identity) DO UPDATE SET line = excluded.line",
                        [(identity, w.line, w.received_wall) for identity, w in rows],
                    )
        except (sqlite3.Error, OSError) as exc:
            self._commit_failed(exc)
            raise
        self.commit_failing = None
        if rows:
            for identity, waiting in rows:  # a point put again meanwhile is newer: it stays
                if self._pending.get(identity) is waiting:
                    del self._pending[identity]
            self.bound.estimate += sum(row_bytes(i, w.line) for i, w in rows)
            if self.bound.over():
                with self._transaction(meta=True):
                    self.bound.drop_excess()
        return len(rows)

    def _commit_failed(self, exc: BaseException) -> None:
        reason = f"{type(exc).__name__}: {exc}"
        self.count(COMMIT_FAILED)
        if reason != self.commit_failing:
            log.error("outbox: a commit failed and was rolled back (%s); its points stay in "
                      "memory and the commit is tried again", reason)
        self.commit_failing = reason

    def _note_replaced(self, identities: list[str]) -> None:
        if self.bound.estimate or self.confirmed.waiting:  # else no row can be replaced
            note_replaced(self._db, self._replaced, identities)
            self.confirmed.release(self._replaced)

    # -- draining ---------------------------------------------------------------------

    def peek(self, limit: int) -> list[Row]:
        """The oldest waiting points, not removed: committed rows first, then points in memory.
        They leave only through `ack` or `dead_letter`."""
        cursor = self._db.execute(
            "SELECT id, line, identity FROM outbox WHERE id > ? ORDER BY id LIMIT ?",
            (self.confirmed.upto, limit))
        rows = list(map(Row._make, cursor))
        if len(rows) < limit:
            for identity, waiting in self._pending.items():
                rows.append(Row(None, waiting.line, identity))
                if len(rows) >= limit:
                    break
        return rows

    def ack(self, rows: Sequence[Row]) -> None:
        """Forget rows InfluxDB has confirmed (2xx).

        A row whose line was replaced while its write was in flight (same identity, new
        values) stays queued: the server has the old values, and the new ones must follow.
        A point confirmed from memory never touches the disk, unless a commit caught it in
        flight; then its committed copy is deleted (same guard).
        """
        committed, caught = self._leaving(rows)
        if not (committed or caught):
            return
        with self._transaction():
            self._delete(committed, caught)

    def dead_letter(self, rows: Sequence[Row], error: str, status: int | None) -> None:
        """Move rows InfluxDB can never accept out of the queue, keeping the server's reason.
        Guarded like `ack`: a replacement that arrived in flight stays queued and is tried."""
        if not rows:
            return
        committed, caught = self._leaving(rows)
        with self._transaction(meta=True):
            self._delete(committed, caught)
            self.dead_letters.add([r.line for r in rows], error, status)

    def hold(self, rows: Sequence[Row], target: str, reason: str) -> None:
        """Park rows whose target cannot take them now (`logger.outbox.held`), so the lines
        behind them keep flowing; guarded like `ack` (a replacement in flight stays queued)."""
        if not rows:
            return
        wall = time.time()
        committed, caught = self._leaving(rows)
        with self._transaction(meta=True):
            self._delete(committed, caught)
            self.held.add(target, [(r.identity or identity_of_line(r.line), r.line, wall)
                                   for r in rows], reason)
            self.count(held(target), len(rows))

    def release_held(self, target: str, limit: int) -> int:
        """Queue up to `limit` of `target`'s held lines again, oldest first, in one transaction
        (held or queued, never neither); a queued line of the same identity is newer: kept."""
        if not self.held.exists:
            return 0
        with self._transaction(meta=True):
            rows = self.held.take(target, limit)
            if not rows:
                return 0
            identities = [identity for identity, _, _ in rows]
            self._note_replaced(identities)  # a confirmed, not yet deleted copy gives way
            self._db.executemany(
                "INSERT INTO outbox (identity, line, accepted_at) VALUES (?, ?, ?) "
                "ON CONFLICT(identity) DO NOTHING", rows)
        self.bound.estimate += sum(row_bytes(identity, line) for identity, line, _ in rows)
        return len(rows)

    # -- committed batches, for a worker thread (see `Delivery.drain`) ----------------------

    def peek_committed_after(self, last_id: int, limit: int) -> list[tuple[int, str]]:
        """(id, line) of the committed rows after `last_id` (the batch in flight), oldest
        first: plain tuples, built in C (a drain reads 5,000 a batch). Through a second,
        read-only connection: WAL lets it read while a worker thread deletes through the
        first (`ack_committed`), so neither waits for the other."""
        if self._reader is None:
            self._reader = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True,
                                           isolation_level=None, timeout=10.0,
                                           check_same_thread=False)
        return self._reader.execute(
            "SELECT id, line FROM outbox WHERE id > ? ORDER BY id LIMIT ?",
            (last_id, limit)).fetchall()

    def ack_committed(self, batch: Sequence[tuple[int, str]]) -> int:
        """`ack` for a batch from `peek_committed_after`, safe in a worker thread; returns the
        bytes to take off the bound's estimate, which the caller applies (`forget_bytes`).
        The batch's rows are only marked confirmed (`logger.outbox.confirmed`), unless one of
        them was replaced in flight or they do not continue the confirmed run: then deleted,
        guarded by the line."""
        if not batch:
            return 0
        first, last = batch[0][0], batch[-1][0]
        with self._transaction():
            if (not any(first <= row_id <= last for row_id in self._replaced)
                    and self.confirmed.advance(first, last)):
                return int(self._db.execute(BYTES_SQL + " FROM outbox WHERE id BETWEEN ? AND ?",
                                            (first, last)).fetchone()[0])
            return delete_batch(self._db, self._replaced, batch)

    def purge_confirmed(self, limit: int) -> int:
        """Delete up to `limit` confirmed rows whose deletion was deferred; returns how many
        (safe in a worker thread)."""
        if not self.confirmed.waiting:
            return 0
        with self._transaction():
            return self.confirmed.purge(limit)

    def forget_bytes(self, freed: int) -> None:
        self.bound.estimate -= freed  # on the loop's thread only

    def _leaving(self, rows: Sequence[Row]) -> tuple[list[Row], list[Row]]:
        """Rows leaving the queue: (committed ones, by id; in-memory ones a commit moved to
        disk meanwhile, by identity); the others are dropped from memory here."""
        committed = [r for r in rows if r.id is not None]
        caught = []
        for row in (r for r in rows if r.id is None):
            waiting = self._pending.get(row.identity)
            if waiting is None:
                caught.append(row)
            elif waiting.line == row.line:
                del self._pending[row.identity]
        return committed, caught

    def _delete(self, by_id: Sequence[Row], by_identity: Sequence[Row]) -> None:
        self.forget_bytes(delete_rows(self._db, self._replaced, by_id, by_identity))

    # -- plumbing ---------------------------------------------------------------------

    @contextlib.contextmanager
    def _transaction(self, durable: bool = False, meta: bool = False) -> Iterator[None]:
        """One transaction; with `meta`, the pending facts and counts ride along and are
        forgotten from memory only once it committed (`logger.outbox.facts`)."""
        with Transaction(self._db, self._lock, durable):
            yield
            written = self._facts.write(self._db) if meta else None
        if written is not None:
            self._facts.forget(written)
            self._last_meta_commit = self._clock()

    def close(self) -> None:
        """Commit what is pending and close the file (after a worker thread's transaction, e.g.
        a purge a cancelled flush left running, has ended: it holds the lock)."""
        if not self._read_only:
            with contextlib.suppress(sqlite3.Error, OSError):  # logged by the failed commit
                self.commit()
        with self._lock:
            if self._reader is not None:
                self._reader.close()
            self._db.close()
        if self._outbox_lock is not None:
            self._outbox_lock.release()
