"""`jullix-logger ledger`: build the energy ledger for existing history (the service keeps it
current afterwards). Progress bar on a terminal, a log line every 10 s otherwise."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import timedelta
from typing import Any

from logger.cli.common import (
    EXIT_CONFIG,
    EXIT_FAILED,
    EXIT_OK,
    delivery_line,
    settings_from,
    since_until,
    waiting_in_outbox,
)
from logger.cli.interrupt import Interruption
from logger.cli.logs import setup_logging
from logger.cli.progress import DayProgress
from logger.core.words import plural
from logger.ledger.periods import MONTH, local_label


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--since", metavar="DATE",
                        help="first day (YYYY-MM-DD, Belgian day, or ISO time; default: the "
                        "oldest meter reading in InfluxDB)")
    parser.add_argument("--until", metavar="DATE",
                        help="last day, inclusive (default: today, as far as readings reach)")
    parser.add_argument("--dry-run", action="store_true",
                        help="compute and summarise; write nothing")


def run(args: argparse.Namespace) -> int:
    """0 built, 1 failed, 2 bad arguments or config."""
    from logger.app.ledger_job import LedgerBuildError, build_history
    from logger.sink.influxql import QueryError

    settings = settings_from(args)
    setup_logging(args.log_level or "WARNING")
    try:
        since, until = since_until(args)
    except ValueError as exc:
        print(f"jullix-logger ledger: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    if not settings.influx.configured:
        print("the ledger is computed from InfluxDB: [influx] url is empty")
        return EXIT_FAILED
    progress = DayProgress(sys.stderr, "ledger", cumulative=True)
    args.interruption.refresh = lambda note: interrupted(note, settings, progress, args)
    try:
        result = asyncio.run(build_history(settings, since, until, args.dry_run, progress))
    except (LedgerBuildError, QueryError) as exc:
        print(f"ledger failed: {exc}")
        return EXIT_FAILED
    finally:
        progress.stop()
    for line in summary(result, args.dry_run):
        print(line)
    return EXIT_OK


def summary(result: Any, dry_run: bool) -> list[str]:
    """What a build did: days, months, points, the capacity-tariff peaks, the delivery."""
    report = result.report
    lines = [f"{report.days} day(s) computed ({report.estimated_days} with estimated values), "
             f"{report.months} month(s), {report.points} ledger points"
             + (" (dry run: nothing written)" if dry_run else "")]
    if report.resets:
        lines.append(f"{report.resets} counter reset(s) or meter swap(s): see the log and "
                     "`status`")
    for peak in report.peaks:
        meter = ("meter: none" if peak.meter_peak_w is None else
                 f"meter {peak.meter_peak_w:.0f} W ({peak.meter_diff_w:+.0f} W)")
        flag = "  DISAGREES" if peak.disagrees else ""
        lines.append(f"  {local_label(peak.start, MONTH)} peak {peak.peak_w:.0f} W, billed "
                     f"{peak.billed_w:.0f} W, 12-month mean {peak.mean_12m_w:.0f} W, "
                     f"{meter}{flag}")
    if not dry_run:
        lines.append(delivery_line(result.delivered, result.left, result.handed_to))
    return lines


def interrupted(note: Interruption, settings: Any, progress: DayProgress,
                args: argparse.Namespace) -> None:
    """Ctrl-C: the days computed (each committed to the outbox as it was done), the command
    that continues, and the ledger points waiting in the outbox."""
    if progress.last_day is None:
        return
    note.done = (f"computed {progress.done} of {plural(progress.total, 'day')}, up to "
                 f"{progress.last_day}" + (" (dry run: nothing written)" if args.dry_run else
                                           f" ({plural(progress.points, 'ledger point')})"))
    left = progress.total - progress.done
    verb = "remains" if left == 1 else "remain"
    rest = (f"{plural(left, 'day')} {verb}: `ledger --since "
            f"{progress.last_day + timedelta(days=1)}"
            + (f" --until {args.until}" if args.until else "") + "` continues" if left else "")
    waiting = 0 if args.dry_run else waiting_in_outbox(settings)
    wait = (f"{plural(waiting, 'point')} wait in the outbox {settings.outbox.path} (the service "
            "delivers them)" if waiting else "")
    note.remains = "; ".join(part for part in (rest, wait) if part)
