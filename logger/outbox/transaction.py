"""The outbox's one way to write: BEGIN IMMEDIATE ... COMMIT under the outbox's lock."""

from __future__ import annotations

import sqlite3
import threading


class Transaction:
    """BEGIN IMMEDIATE ... COMMIT under the outbox's lock, rolled back on error (sqlite3's
    autocommit mode is off); `durable`: synchronous=FULL for this one, the WAL fsynced."""

    def __init__(self, db: sqlite3.Connection, lock: threading.Lock, durable: bool) -> None:
        self._db = db
        self._lock = lock
        self._durable = durable

    def __enter__(self) -> None:
        self._lock.acquire()
        try:
            if self._durable:
                self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("BEGIN IMMEDIATE")
        except BaseException:
            self._lock.release()
            raise

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        """COMMIT, or ROLLBACK on an error. SQLite may have rolled back already (a full disk,
        an I/O error), and a COMMIT may fail itself and leave the transaction open: rolled
        back then, and the original error is what the caller sees (issue 19)."""
        try:
            if exc_type is None:
                try:
                    self._db.execute("COMMIT")
                except BaseException:
                    if self._db.in_transaction:
                        self._db.execute("ROLLBACK")
                    raise
            elif self._db.in_transaction:
                self._db.execute("ROLLBACK")
        finally:
            try:
                if self._durable:
                    self._db.execute("PRAGMA synchronous=NORMAL")
            finally:
                self._lock.release()
