"""`jullix-logger status`: what the service's outbox says about its health.

Reads the outbox file read-only, so it works while the service runs (WAL allows a reader next to
the writer) and after it stopped; it creates nothing. It starts with the config it read and
whether the service runs (and how old the record is), then the warnings, the outbox, InfluxDB,
the optional features (on, off or degraded: logger/app/features.py), P1, the ledger, the last
samples and the counters. `--check-empty` is the guard before deleting the state directory
(uninstalling): exit 1 while the outbox holds points InfluxDB has not received.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
from pathlib import Path
from typing import TextIO

from logger.app.alerts import active_warnings
from logger.app.cost_keys import status_lines as cost_status_lines
from logger.app.fluvius_notes import fluvius_warnings
from logger.cli import status_parts as part
from logger.cli.common import command_prefix, config_line, config_notes, settings_from
from logger.config import Settings
from logger.core.durations import moment_and_age
from logger.core.words import plural
from logger.outbox import Outbox, keys
from logger.outbox.lock import holder


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--check-empty", action="store_true",
        help="only say whether the outbox holds points InfluxDB has not received (or refused); "
        "exit 1 while it does (run this before deleting the state directory)")


def run(args: argparse.Namespace) -> int:
    out = sys.stdout
    out.write(f"{config_line(args)}\n")
    for note in config_notes():
        out.write(f"{note}\n")
    settings = settings_from(args)
    if getattr(args, "check_empty", False):
        return check_empty(settings, out, command_prefix(args))
    return print_status(settings, out)


def open_outbox(path: Path, out: TextIO) -> Outbox | None:
    """The outbox read-only, or None after saying why not (missing, not readable)."""
    try:
        return Outbox(path, read_only=True)
    except FileNotFoundError:
        out.write(f"no outbox at {path}: the logger has not run with this config yet\n")
    except (PermissionError, sqlite3.Error) as exc:
        out.write(f"cannot read the outbox at {path} ({exc}); the service's state directory "
                  "is readable by root only: run this with sudo\n")
    return None


def check_empty(settings: Settings, out: TextIO, program: str = "jullix-logger") -> int:
    """0 when deleting the outbox loses nothing, else 1 with what would be lost and the
    commands (with this config) that keep it."""
    path = settings.outbox.path
    outbox = open_outbox(path, out)
    if outbox is None:
        return 0 if not _exists(path) else 1
    try:
        stats = outbox.stats()
    finally:
        outbox.close()
    held = sum(stats.held.values())
    if stats.depth or stats.dead_letters or held:
        out.write(
            f"the outbox at {path} holds {plural(stats.depth + held, 'point')} InfluxDB has "
            f"not received ({held} of them parked for a target that could not take them) and "
            f"{stats.dead_letters} it refused: deleting it loses them. Start the service until "
            f"they are delivered, or export them first: `{program} export -o unsent.lp` and "
            f"`{program} export --dead-letters -o refused.lp`\n")
        return 1
    out.write(f"the outbox at {path} holds nothing unsent: deleting it loses no data\n")
    return 0


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except OSError:
        return True  # cannot even look: assume it is there


def print_status(settings: Settings, out: TextIO) -> int:
    path = settings.outbox.path
    outbox = open_outbox(path, out)
    if outbox is None:
        return 1
    try:
        stats = outbox.stats()
    finally:
        outbox.close()
    meta = stats.meta
    part.print_service(meta, out, locked_by=holder(path))
    for text in active_warnings(meta).values():  # warnings that matter (logger/app/alerts.py)
        part.line(out, "WARNING", text)
    for text in fluvius_warnings(meta):  # months the ledger and Fluvius disagree on
        part.line(out, "WARNING", text)
    part.line(out, "outbox", str(path))
    part.line(out, "depth", f"{plural(stats.depth, 'point')} waiting "
              f"({stats.size_bytes / 1e6:.1f} MB of {settings.outbox.max_mb:g} MB)", indent=2)
    part.line(out, "dead letter", f"{plural(stats.dead_letters, 'point')} InfluxDB refused "
              "(see `export --dead-letters`)", indent=2)
    part.print_held(stats.held, out)
    last_write = meta.get(keys.LAST_WRITE_OK)
    if settings.influx.configured:
        shown = moment_and_age(float(last_write)) if last_write else "never"
        part.line(out, "influx", f"{settings.influx.display_url} last successful write: {shown}")
    else:
        part.line(out, "influx", "not configured: the outbox is the store")
    part.print_features(settings, meta, out)
    if settings.p1.enabled or keys.P1_STATE in meta:
        part.print_p1(meta, stats.counters, out)
    part.print_mqtt(settings, meta, stats.counters, out)
    part.print_ledger(meta, stats.counters, out)
    out.writelines(cost_status_lines(meta, stats.counters))  # day-ahead prices, the cost ledger
    part.print_backfill_gaps(settings, out)
    part.print_samples(meta, out)
    part.print_counters(stats.counters, out)
    return 0
