"""What the outbox's readers see: depth, ages, lines for export, meta and counters, stats.

Kept apart from `store`, which is about accepting, committing and draining; both work on the
same connection and in-memory state (`Outbox` combines them). Every reader skips the rows behind
the watermark (`logger.outbox.confirmed`) and adds what still waits in memory.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from logger.outbox.bound import QueueBound
from logger.outbox.confirmed import ConfirmedRows
from logger.outbox.dead_letters import DeadLetters
from logger.outbox.facts import PendingFacts
from logger.outbox.held import HeldRows


@dataclass(frozen=True, slots=True)
class OutboxStats:
    depth: int  # points waiting: committed rows plus points in memory (held ones apart)
    dead_letters: int
    size_bytes: int  # the queue's bytes as `max_mb` counts them
    counters: dict[str, int]
    meta: dict[str, str]
    oldest_age_s: float | None = None  # of the oldest waiting point; None when none waits
    held: dict[str, int] = field(default_factory=dict)  # lines parked per target


class OutboxReads:
    """The readers' half of `Outbox` (see `logger.outbox.store`)."""

    _db: sqlite3.Connection
    _pending: dict[str, Any]  # identity -> its waiting line, `received` on `_clock`
    _clock: Callable[[], float]
    _facts: PendingFacts
    bound: QueueBound
    confirmed: ConfirmedRows
    dead_letters: DeadLetters
    held: HeldRows

    @property
    def pending(self) -> int:
        """Points waiting in memory (not yet committed, not yet confirmed)."""
        return len(self._pending)

    def oldest_pending_age(self, now: float | None = None) -> float | None:
        """Seconds the oldest in-memory point has waited (dicts keep arrival order)."""
        for waiting in self._pending.values():
            return (self._clock() if now is None else now) - waiting.received
        return None

    def unconfirmed(self, identities: Iterable[str]) -> bool:
        """Whether any of these points is only in memory (neither confirmed nor committed)."""
        return any(identity in self._pending for identity in identities)

    def queue_bytes(self) -> int:
        """The committed queue's size as `max_mb` counts it (see `logger.outbox.bound`)."""
        return self.bound.estimate

    def committed_depth(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM outbox WHERE id > ?",
                                    (self.confirmed.upto,)).fetchone()[0])

    def depth(self) -> int:
        """Points waiting for InfluxDB: committed rows plus points still in memory."""
        return self.committed_depth() + len(self._pending)

    def held_depth(self) -> int:
        """Lines parked apart because their target cannot take them (`logger.outbox.held`)."""
        return sum(self.held.counts().values())

    def oldest_age(self) -> float | None:
        """Seconds since the oldest waiting point (committed or in memory) was received."""
        row = self._db.execute("SELECT accepted_at FROM outbox WHERE id > ? ORDER BY id LIMIT 1",
                               (self.confirmed.upto,)).fetchone()
        if row is not None:
            return max(0.0, time.time() - float(row[0]))
        age = self.oldest_pending_age()
        return None if age is None else max(0.0, age)

    def iter_lines(self, dead_letters: bool = False) -> Iterable[str]:
        """Every stored line in acceptance order, for `export` (held lines after the queue)."""
        if dead_letters:
            yield from (line for (line,) in self._db.execute(
                "SELECT line FROM dead_letter ORDER BY id"))
            return
        yield from (line for (line,) in self._db.execute(
            "SELECT line FROM outbox WHERE id > ? ORDER BY id", (self.confirmed.upto,)))
        yield from self.held.lines()

    def dead_letter_rows(self, limit: int = 20) -> list[tuple[str, str, int | None]]:
        return self.dead_letters.newest(limit)

    def get_meta(self, key: str) -> str | None:
        if key in self._facts.meta:
            return self._facts.meta[key]
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]

    def stats(self) -> OutboxStats:
        counters = dict(self._db.execute("SELECT name, value FROM counters"))
        for name, value in self._facts.counters.items():
            counters[name] = counters.get(name, 0) + value
        meta = dict(self._db.execute("SELECT key, value FROM meta"))
        meta.update(self._facts.meta)
        return OutboxStats(self.depth(), self.dead_letters.count(), self.queue_bytes(),
                           counters, meta, self.oldest_age(), self.held.counts())
