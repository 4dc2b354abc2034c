"""`jullix-logger status`: what the service's outbox says about its health.

Reads the outbox file read-only, so it works while the service runs (WAL allows a reader next to
the writer) and after it stopped. `--check-empty` is the guard before deleting the state
directory (uninstalling): exit 1 while the outbox holds points InfluxDB has not received.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from logger.app.alerts import active_warnings
from logger.app.cost_keys import status_lines as cost_status_lines
from logger.cli.common import settings_from
from logger.config import Settings
from logger.core.durations import human_duration, moment_and_age
from logger.outbox import Outbox, keys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--check-empty", action="store_true",
        help="only say whether the outbox holds points InfluxDB has not received (or refused); "
        "exit 1 while it does (run this before deleting the state directory)")


def run(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    if getattr(args, "check_empty", False):
        return check_empty(settings, sys.stdout)
    return print_status(settings, sys.stdout)


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


def check_empty(settings: Settings, out: TextIO) -> int:
    """0 when deleting the outbox loses nothing, else 1 with what would be lost."""
    path = settings.outbox.path
    outbox = open_outbox(path, out)
    if outbox is None:
        return 0 if not _exists(path) else 1
    try:
        stats = outbox.stats()
    finally:
        outbox.close()
    if stats.depth or stats.dead_letters:
        out.write(
            f"the outbox at {path} holds {stats.depth} points InfluxDB has not received and "
            f"{stats.dead_letters} it refused: deleting it loses them. Start the service until "
            "they are delivered, or export them first: `jullix-logger export -o unsent.lp` "
            "and `jullix-logger export --dead-letters -o refused.lp`\n")
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
    for text in active_warnings(meta).values():  # warnings that matter (logger/app/alerts.py)
        out.write(f"WARNING       {text}\n")
    out.write(f"outbox        {path}\n")
    out.write(f"  depth       {stats.depth} points waiting ({stats.size_bytes / 1e6:.1f} MB "
              f"of {settings.outbox.max_mb:g} MB)\n")
    out.write(f"  dead letter {stats.dead_letters} points InfluxDB refused "
              "(see `export --dead-letters`)\n")
    last_write = meta.get(keys.LAST_WRITE_OK)
    if settings.influx.configured:
        shown = moment_and_age(float(last_write)) if last_write else "never"
        out.write(f"influx        {settings.influx.display_url} last successful write: {shown}\n")
    else:
        out.write("influx        not configured: the outbox is the store\n")
    if settings.p1.enabled or keys.P1_STATE in meta:
        _print_p1(meta, stats.counters, out)
    if {keys.LEDGER_LAST_RUN, keys.LEDGER_LAST_ERROR, keys.LEDGER_NEWEST_END} & meta.keys():
        _print_ledger(meta, stats.counters, out)
    out.writelines(cost_status_lines(meta, stats.counters))  # day-ahead prices, the cost ledger
    out.write("last sample per source\n")
    samples = sorted((k.removeprefix(keys.LAST_SAMPLE_PREFIX), v) for k, v in meta.items()
                     if k.startswith(keys.LAST_SAMPLE_PREFIX))
    if not samples:
        out.write("  (none yet)\n")
    for name, value in samples:
        out.write(f"  {name:<22} {value}\n")
    if stats.counters:
        out.write("counters\n")
        for name, value in sorted(stats.counters.items()):
            out.write(f"  {name:<32} {value}\n")
    _print_backfill(settings, out)
    return 0


def _print_backfill(settings: Settings, out: TextIO, shown: int = 10) -> None:
    """Gaps whose cloud fetch failed, and when the scheduled backfill tries them again."""
    from logger.app.backfill.state import STATE_FILE, failing_gaps

    path = settings.outbox.path.parent / STATE_FILE
    if not path.exists():
        return
    failing = failing_gaps(path, settings.installation)
    out.write(f"backfill      {len(failing)} gaps wait for another try after failed fetches\n")
    for failure in failing[:shown]:
        left = failure.next_try - time.time()
        when = datetime.fromtimestamp(failure.next_try, UTC).isoformat(timespec="seconds")
        retry = f"{when} (in {human_duration(left)})" if left > 0 else "at the next run"
        out.write(f"  {failure.gap.describe()}: failed {failure.failures}x, next try "
                  f"{retry}: {failure.reason}\n")
    if len(failing) > shown:
        out.write(f"  ... and {len(failing) - shown} more\n")


def _print_p1(meta: dict[str, str], counters: dict[str, int], out: TextIO) -> None:
    """P1 link state (as the running service last recorded it), rate and errors by kind."""
    state = meta.get(keys.P1_STATE, "unknown")
    since = meta.get(keys.P1_STATE_SINCE)
    detail = meta.get(keys.P1_DETAIL)
    line = f"p1            {meta.get(keys.P1_ADDRESS, '')} link {state}"
    if since:
        line += f" since {since}"
    if detail:
        line += f" ({detail})"
    out.write(line + "\n")
    out.write(f"  rate        {meta.get(keys.P1_RATE, '0')} valid telegrams/min, "
              f"{counters.get(keys.P1_TELEGRAMS, 0)} in total\n")
    errors = {k.removeprefix("p1_"): v for k, v in counters.items()
              if k.startswith("p1_") and k != keys.P1_TELEGRAMS and v}
    shown = ", ".join(f"{k} {v}" for k, v in sorted(errors.items())) or "none"
    out.write(f"  errors      {shown}\n")


def _print_ledger(meta: dict[str, str], counters: dict[str, int], out: TextIO) -> None:
    """The energy ledger's last update, counter resets and capacity-peak disagreements."""
    out.write(f"ledger        last update {meta.get(keys.LEDGER_LAST_RUN, 'never')}\n")
    newest = meta.get(keys.LEDGER_NEWEST_END, "")
    if newest.isdigit():
        out.write(f"  newest      complete period ends {moment_and_age(int(newest))} "
                  "(the ledger lag)\n")
    if meta.get(keys.LEDGER_LAST_ERROR):
        out.write(f"  error       {meta[keys.LEDGER_LAST_ERROR]}\n")
    resets = counters.get(keys.LEDGER_COUNTER_RESET, 0)
    if resets:
        out.write(f"  resets      {resets} counter reset(s)/meter swap(s); newest: "
                  f"{meta.get(keys.LEDGER_LAST_RESET, '?')}\n")
    mismatches = counters.get(keys.LEDGER_PEAK_MISMATCHES, 0)
    if mismatches:
        out.write(f"  WARNING     capacity peak disagrees with the meter's register "
                  f"({mismatches}x); newest: {meta.get(keys.LEDGER_PEAK_MISMATCH, '?')}\n")
