"""Files only the logger's user may read: state next to the outbox, written atomically.

The backfill state (and whatever else lives next to the outbox) says when the house was empty
of data, which says when its people were away: mode 0600 for files and 0700 for the directories
the logger creates, whatever the umask. A directory that already exists keeps its mode: it may
be shared on purpose (a StateDirectory= of systemd already is 0700).

A file root creates in a directory someone else owns (`sudo jullix-logger backfill` in the
service's state directory) is given to that directory's owner (`adopt_owner`): a root-owned 0600
state file or SQLite WAL would be unreadable for the service, which would then start afresh or
fail to open its outbox (issue 19).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

FILE_MODE = 0o600
DIR_MODE = 0o700


def private_dir(path: Path) -> Path:
    """Create `path` (and missing parents) with mode 0700; an existing directory is left as is."""
    path = Path(path)
    missing = []
    current = path
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for directory in reversed(missing):
        with contextlib.suppress(FileExistsError):
            directory.mkdir(mode=DIR_MODE)
            os.chmod(directory, DIR_MODE)  # mkdir's mode is filtered by the umask
    return path


def write_private(path: Path, text: str) -> None:
    """Replace `path` with `text` atomically (a reader sees the old or the new file, a crash
    leaves one of them), mode 0600 from the first byte on."""
    path = Path(path)
    private_dir(path.parent)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)  # O_CREAT's mode is filtered by the umask, and an old tmp stays
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            fd = -1
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
        adopt_owner(path)
    finally:
        if fd >= 0:
            os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def adopt_owner(path: Path) -> None:
    """Running as root, give `path` to the owner of its directory when that is another user
    (see the module doc); otherwise, or when it cannot be done, leave it as it is."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return
    with contextlib.suppress(OSError):
        directory = os.stat(Path(path).parent)
        if directory.st_uid != 0 and os.stat(path).st_uid != directory.st_uid:
            os.chown(path, directory.st_uid, directory.st_gid)
