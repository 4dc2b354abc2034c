"""`jullix-logger status`: what the service's outbox says about its health.

Reads the outbox file read-only, so it works while the service runs (WAL allows a reader next to
the writer) and after it stopped.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import TextIO

from logger.config import Settings
from logger.outbox import Outbox


def _ago(timestamp: float) -> str:
    seconds = max(0.0, time.time() - timestamp)
    when = datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="seconds")
    if seconds < 120:
        return f"{when} ({seconds:.0f} s ago)"
    if seconds < 7200:
        return f"{when} ({seconds / 60:.0f} min ago)"
    return f"{when} ({seconds / 3600:.1f} h ago)"


def print_status(settings: Settings, out: TextIO) -> int:
    path = settings.outbox.path
    try:
        outbox = Outbox(path, read_only=True)
    except FileNotFoundError:
        out.write(f"no outbox at {path}: the logger has not run with this config yet\n")
        return 1
    try:
        stats = outbox.stats()
    finally:
        outbox.close()
    meta = stats.meta
    out.write(f"outbox        {path}\n")
    out.write(f"  depth       {stats.depth} points waiting ({stats.size_bytes / 1e6:.1f} MB "
              f"of {settings.outbox.max_mb:g} MB)\n")
    out.write(f"  dead letter {stats.dead_letters} points InfluxDB refused "
              "(see `export --dead-letters`)\n")
    last_write = meta.get("last_write_ok")
    if settings.influx.configured:
        shown = _ago(float(last_write)) if last_write else "never"
        out.write(f"influx        {settings.influx.url} last successful write: {shown}\n")
    else:
        out.write("influx        not configured: the outbox is the store\n")
    out.write("last sample per source\n")
    samples = sorted((k.removeprefix("last_sample."), v) for k, v in meta.items()
                     if k.startswith("last_sample."))
    if not samples:
        out.write("  (none yet)\n")
    for name, value in samples:
        out.write(f"  {name:<22} {value}\n")
    if stats.counters:
        out.write("counters\n")
        for name, value in sorted(stats.counters.items()):
            out.write(f"  {name:<32} {value}\n")
    return 0
