"""The outbox file's tables. `outbox` is the queue (keyed by point identity), `dead_letter`
what InfluxDB refused for good, `held` lines whose target cannot take them now
(`logger.outbox.held`), `meta` small facts for `status`, `counters` persistent totals.
Existing files keep working: tables are only ever created if missing."""

from __future__ import annotations

from typing import NamedTuple

from logger.outbox.held import HELD_SCHEMA

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
""" + HELD_SCHEMA


class Row(NamedTuple):
    """One queued line. `id` is its row id once committed; None while it waits in memory.
    A NamedTuple: a drain builds 5,000 of them per batch, and a tuple is the cheapest."""

    id: int | None
    line: str
    identity: str = ""
