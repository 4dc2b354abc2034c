"""Meta facts and counter increments waiting in memory for a commit (issue 19).

They ride along with the next transaction, and are forgotten only once that transaction has
committed: a commit that fails (the SD card full or read-only, the file locked) rolls back in
SQLite, so the facts and counts it carried must stay in memory for the next try. Clearing them
before the COMMIT, as the outbox once did, lost every counter of a failed commit (disk-full and
overflow counts among them: exactly the ones an operator needs then).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field


@dataclass(slots=True)
class Written:
    """What one transaction wrote: forgotten from memory once it committed."""

    meta: dict[str, str] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=dict)


class PendingFacts:
    """The outbox's pending meta facts and counter increments.

    `counters` is handed by reference to the dead letters, the bound and the held rows, which
    count inside the outbox's transactions; `write` stores both tables' rows in the caller's
    transaction and returns what it wrote, `forget` drops exactly that after the commit
    (counts added meanwhile, and a fact set anew meanwhile, stay)."""

    def __init__(self) -> None:
        self.meta: dict[str, str] = {}
        self.counters: dict[str, int] = {}

    def __bool__(self) -> bool:
        return bool(self.meta or self.counters)

    def write(self, db: sqlite3.Connection) -> Written:
        written = Written(dict(self.meta), dict(self.counters))
        if written.meta:
            db.executemany(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                list(written.meta.items()),
            )
        if written.counters:
            db.executemany(
                "INSERT INTO counters (name, value) VALUES (?, ?) "
                "ON CONFLICT(name) DO UPDATE SET value = value + excluded.value",
                list(written.counters.items()),
            )
        return written

    def forget(self, written: Written) -> None:
        for key, value in written.meta.items():
            if self.meta.get(key) == value:
                del self.meta[key]
        for name, value in written.counters.items():
            left = self.counters.get(name, 0) - value
            if left:
                self.counters[name] = left
            else:
                self.counters.pop(name, None)
