"""The outbox file's tables. `outbox` is the queue (keyed by point identity), `dead_letter`
what InfluxDB refused for good, `meta` small facts for `status`, `counters` persistent totals.
Existing files keep working: tables are only ever created if missing."""

from __future__ import annotations

from dataclasses import dataclass

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
    """One queued line. `id` is its row id once committed; None while it waits in memory
    (then `identity` says which pending point it is)."""

    id: int | None
    line: str
    identity: str = ""
