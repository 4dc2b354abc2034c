"""One outbox, one writer (issue 19): a lock file beside the outbox, held while a process
drains it.

Two processes draining one outbox break its in-memory bookkeeping: a point re-queued by one
while the other has it in flight could lose its newer values behind the other's watermark, and a
second `run` would double the local series under different receive seconds. So the service (and
a command that drains when no service runs) takes an exclusive `flock` on `<outbox>.lock`; the
kernel releases it when the process ends, `kill -9` included, so a crash never leaves a stale
lock. A second `run` refuses with one line naming the holder's pid; commands run by hand next to
the service hand their points over instead (`logger.outbox.handoff`) or refuse.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

from logger.core.files import adopt_owner, private_dir


class OutboxBusy(Exception):
    """Another process holds the outbox's lock."""

    def __init__(self, path: Path, pid: int | None) -> None:
        self.path, self.pid = path, pid
        holder = f"pid {pid}" if pid else "another process"
        super().__init__(f"{holder} is already using the outbox {path} (the service?)")


def lock_path(outbox: Path) -> Path:
    return outbox.with_name(outbox.name + ".lock")


class OutboxLock:
    """The exclusive lock of one outbox; `acquire` raises OutboxBusy, `release` is idempotent."""

    def __init__(self, outbox: Path) -> None:
        self.outbox = Path(outbox)
        self.path = lock_path(self.outbox)
        self._fd: int | None = None

    def acquire(self) -> OutboxLock:
        private_dir(self.path.parent)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = _read_pid(fd)
            os.close(fd)
            raise OutboxBusy(self.outbox, pid) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        adopt_owner(self.path)
        self._fd = fd
        return self

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)  # closing the descriptor releases the flock


def holder(outbox: Path) -> int | None:
    """The pid holding `outbox`'s lock (0 when unknown), or None when nobody holds it."""
    path = lock_path(Path(outbox))
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return _read_pid(fd) or 0
    finally:
        os.close(fd)
    return None


def _read_pid(fd: int) -> int | None:
    with contextlib.suppress(OSError, ValueError):
        return int(os.pread(fd, 32, 0).decode().strip() or "0") or None
    return None
