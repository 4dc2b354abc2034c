"""`jullix-logger ledger`: build the energy ledger for existing history (the service keeps it
current afterwards). Progress bar on a terminal, a log line every 10 s otherwise."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from logger.cli.common import EXIT_CONFIG, EXIT_FAILED, EXIT_OK, settings_from, since_until
from logger.cli.logs import setup_logging
from logger.cli.progress import day_progress
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
    progress, stop_progress = day_progress(sys.stderr, "ledger")
    try:
        result = asyncio.run(build_history(settings, since, until, args.dry_run, progress))
    except (LedgerBuildError, QueryError) as exc:
        print(f"ledger failed: {exc}")
        return EXIT_FAILED
    finally:
        stop_progress()
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
    if not dry_run and result.handed_to is not None:
        lines.append(f"handed {result.delivered} points to the running service (pid "
                     f"{result.handed_to or '?'}), which delivers them to InfluxDB")
    elif not dry_run:
        lines.append(f"delivered to InfluxDB: {result.delivered} points; waiting in the outbox: "
                     f"{result.left}" + (" (the service delivers them)" if result.left else ""))
    return lines
