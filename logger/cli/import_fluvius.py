"""`jullix-logger import-fluvius FILE...`: the grid operator's quarter-hour history (Mijn
Fluvius exports, Dutch or English, electricity and gas) into InfluxDB through the outbox, with
a progress bar on a terminal (a log line every 10 s otherwise) and a summary: what each file
was, the lines refused with their numbers, the range, the quarter-hours, energy per register and
statuses. How to get the files: docs/fluvius.md."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from logger.cli.common import EXIT_FAILED, EXIT_OK, settings_from
from logger.cli.logs import setup_logging
from logger.core.belgian_time import BRUSSELS
from logger.core.fluvius_schema import REGISTER_NAMES
from logger.core.logs import get_logger

log = get_logger(__name__)

EXIT_INTERRUPTED = 130
UNITS = {"kwh": "kWh", "m3": "m³"}
SHOWN_DAYS = 8


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", type=Path, metavar="FILE",
                        help="Mijn Fluvius exports (CSV as downloaded: kwartiertotalen / 15 "
                        "minute totals, gas uurtotalen / hourly totals); overlapping files are "
                        "fine, a re-import overwrites")
    parser.add_argument("--dry-run", action="store_true",
                        help="read, check and summarise; write nothing")
    parser.add_argument("--meter", action="append", default=[], metavar="METER",
                        help="accept electricity lines of this meter number (as the file's "
                        "'Meter' column shows it, e.g. 1SAG1100000292) instead of the "
                        "installation's meter in InfluxDB; repeat for several (a meter swap)")


def run(args: argparse.Namespace) -> int:
    """0 imported, 1 a file or lines not imported (see the summary), 130 interrupted."""
    from logger.app.fluvius_import import FluviusImport

    settings = settings_from(args)
    setup_logging(args.log_level or "WARNING")
    progress, stop_progress = file_progress(sys.stderr)
    importer = FluviusImport(settings, args.dry_run, progress)
    try:
        result = asyncio.run(importer.run(args.files, args.meter))
    except KeyboardInterrupt:
        stop_progress()
        done = importer.result
        print(f"import-fluvius interrupted after {done.points} points; what was read is in the "
              "outbox (the service, or the next import, delivers it): run it again to import "
              "the rest", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        stop_progress()
    for line in summary(result):
        print(line)
    return EXIT_OK if result.ok else EXIT_FAILED


def file_progress(stream: Any) -> tuple[Callable[[str, int, int], None], Callable[[], None]]:
    """A callback `(file, bytes read, size)` and a function that ends the display."""
    if stream.isatty():
        from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn

        bar = Progress(TextColumn("import-fluvius {task.description}"), BarColumn(),
                       DownloadColumn(), transient=True)
        tasks: dict[str, Any] = {}
        bar.start()

        def on_bytes(name: str, done: int, total: int) -> None:
            if name not in tasks:
                tasks[name] = bar.add_task(name[:40], total=total)
            bar.update(tasks[name], completed=done)

        return on_bytes, bar.stop
    last = [0.0]

    def log_bytes(name: str, done: int, total: int) -> None:
        if time.monotonic() - last[0] >= 10.0 or done == total:
            last[0] = time.monotonic()
            log.info("import-fluvius: %s: %d of %d kB read", name, done // 1024, total // 1024)

    return log_bytes, lambda: None


def _local(t: int) -> str:
    return datetime.fromtimestamp(t, BRUSSELS).strftime("%Y-%m-%d %H:%M")


def _lines(numbers: list[int], count: int) -> str:
    shown = ", ".join(str(n) for n in numbers)
    if count == 1:
        return f"line {shown}"
    return f"{count} lines ({shown}{', ...' if count > len(numbers) else ''})"


def _file_lines(result: Any) -> list[str]:
    out = []
    for f in result.files:
        facts = f.facts
        if f.error:
            out.append(f"{f.path.name}: NOT IMPORTED: {f.error}")
            continue
        kinds = " and ".join(sorted(facts.kinds)) or "no readings"
        language = {"nl": "Dutch", "en": "English"}.get(facts.language, "")
        meters = ", ".join(sorted(facts.meters)) or "none named"
        out.append(f"{f.path.name}: {kinds}{f' ({language})' if language else ''}, EAN "
                   f"{', '.join(sorted(facts.eans)) or '-'}, meter {meters}: {facts.lines} lines, "
                   f"{f.points} points" + (f", read as {facts.encoding}"
                                           if facts.encoding != "utf-8" else ""))
        for reason, count in facts.refused.counts.most_common():
            out.append(f"  refused {_lines(facts.refused.lines[reason], count)}: {reason}")
        for meter, count in f.meters_refused.counts.most_common():
            known = ", ".join(sorted(result.meters or ()))
            out.append(f"  refused {_lines(f.meters_refused.lines[meter], count)}: meter {meter} "
                       f"is not {known} ({result.meters_from}); if it is this installation's "
                       f"(a replaced meter), import again with --meter {meter}")
    return out


def _day_lines(tally: Any) -> list[str]:
    days = tally.electricity_days()
    if not days:
        return []
    changes = [f"{d} has {have}" for d, (have, full) in days.items() if full != 96 and have == full]
    short = [f"{d} ({have} of {full})" for d, (have, full) in days.items() if have != full]
    out = [f"  electricity: {sum(h for h, _ in days.values())} quarter-hours on {len(days)} "
           f"day{'s' if len(days) != 1 else ''}" + (f" (DST: {', '.join(changes)})"
                                                   if changes else "")]
    if short:
        more = f", and {len(short) - SHOWN_DAYS} more" if len(short) > SHOWN_DAYS else ""
        out.append(f"  incomplete days (quarter-hours the file lacks): "
                   f"{', '.join(short[:SHOWN_DAYS])}{more}")
    return out


def summary(result: Any) -> list[str]:
    """What the import read and did (the command's output)."""
    out = _file_lines(result)
    span = result.tally.span()
    if span is None:
        out.append("nothing to import")
    else:
        out.append(f"imported {_local(span[0])} .. {_local(span[1])} (Belgian time)")
        out += _day_lines(result.tally)
        order = list(REGISTER_NAMES)
        for t in sorted(result.tally.totals(), key=lambda t: (order.index(t.register), t.unit)):
            what = "hours" if t.register == "gas" else "quarter-hours"
            statuses = ", ".join(f"{name} {n}" for name, n in t.statuses.most_common())
            name = REGISTER_NAMES[t.register]
            out.append(f"  {name:<13}{t.units / 1000:>12.3f} {UNITS[t.unit]:<4}"
                       f"{t.intervals:>7} {what} ({statuses})")
    if result.meters is not None:
        out.append(f"meter check: {', '.join(sorted(result.meters))} ({result.meters_from})")
    else:
        out.append(f"meter check: {result.meters_from}")
    if result.stopped:
        out.append(f"STOPPED: {result.stopped}")
    if result.dry_run:
        out.append(f"{result.points} points (dry run: nothing written)")
    elif not result.influx:
        out.append(f"{result.points} points kept in the outbox, the embedded store ([influx] "
                   "url is empty; `jullix-logger export` prints them)")
    elif result.handed_to is not None:
        out.append(f"{result.points} points; handed {result.delivered} to the running service "
                   f"(pid {result.handed_to or '?'}), which delivers them to InfluxDB")
    else:
        out.append(f"{result.points} points; delivered to InfluxDB: {result.delivered}; waiting "
                   f"in the outbox: {result.left}"
                   + (" (the service delivers them)" if result.left else ""))
    if span is not None and not result.dry_run and result.influx:
        first = datetime.fromtimestamp(span[0], BRUSSELS).date()
        last = datetime.fromtimestamp(span[1] - 1, BRUSSELS).date()
        until = min(last, datetime.now(BRUSSELS).date() - timedelta(days=1))
        out.append(f"next: jullix-logger ledger --since {first} --until {until}   (the ledger "
                   "of these days, with the Fluvius quarter-hours)")
    return out
