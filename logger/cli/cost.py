"""`jullix-logger cost --since D [--until D]`: cost existing history (`ledger_cost`,
`ledger_savings`) from the energy ledger, the day-ahead prices and `[[tariff]]`.

The service keeps the last `[ledger] recheck_days` current by itself; this is for older history
(after `jullix-logger ledger --since ...`, `prices fetch --since ...`, or a contract edited in the
config). Only periods whose cost changed are written. Exit 0 done, 1 failed, 2 bad arguments or
config, 130 interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import date
from typing import Any

from logger.cli.common import EXIT_CONFIG, EXIT_FAILED, EXIT_OK, delivery_line, settings_from
from logger.cli.logs import setup_logging
from logger.core.belgian_time import brussels_day
from logger.core.logs import get_logger

log = get_logger(__name__)
EXIT_INTERRUPTED = 130


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--since", metavar="DATE", required=True,
                        help="first Belgian day (YYYY-MM-DD)")
    parser.add_argument("--until", metavar="DATE", help="last Belgian day, inclusive "
                        "(default: today)")
    parser.add_argument("--dry-run", action="store_true", help="cost and summarise; write "
                        "nothing")


def run(args: argparse.Namespace) -> int:
    from logger.app.cost_job import build_costs
    from logger.app.one_shot import NotReady
    from logger.sink.influxql import QueryError

    settings = settings_from(args)
    setup_logging(args.log_level or "WARNING")
    try:
        first = date.fromisoformat(args.since)
        last = date.fromisoformat(args.until) if args.until else brussels_day(int(time.time()))
    except ValueError as exc:
        print(f"jullix-logger cost: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    if last < first:
        print("jullix-logger cost: --until is before --since", file=sys.stderr)
        return EXIT_CONFIG
    if not settings.tariff:
        print("jullix-logger cost: no [[tariff]] in the config: nothing to cost with "
              "(config.example.toml has a commented example)", file=sys.stderr)
        return EXIT_CONFIG
    try:
        report, delivered = asyncio.run(build_costs(settings, first, last, args.dry_run,
                                                    _progress(sys.stderr)))
    except (NotReady, QueryError) as exc:
        print(f"cost failed: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("interrupted: the months costed before are written; run it again to complete",
              file=sys.stderr)
        return EXIT_INTERRUPTED
    if sys.stderr.isatty():
        sys.stderr.write("\n")
    for line in summary(report, delivered, args.dry_run):
        print(line)
    return EXIT_OK


def _progress(stream: Any) -> Any:
    def show(done: date, report: Any) -> None:
        text = f"cost: up to {done}: {report.quarters} quarter-hours, {report.points} written"
        if stream.isatty():
            stream.write("\r" + text)
            stream.flush()
        else:
            log.info("%s", text)
    return show


def summary(report: Any, delivered: Any, dry_run: bool) -> list[str]:
    lines = [f"{report.quarters} quarter-hour(s), {report.days} day(s), {report.months} "
             f"month(s) costed; {report.points} period(s) new or changed"
             + (" (dry run: nothing written)" if dry_run else "")]
    if report.missing:
        lines.append(f"{report.missing} quarter-hour(s) have no day-ahead price: marked missing, "
                     "not costed (`jullix-logger prices fetch --since ...` fills them in)")
    for name, count in sorted(report.written.items()):
        lines.append(f"  {name}: {count}")
    if not dry_run:
        lines.append(delivery_line(delivered.written, delivered.left, delivered.handed_to))
    return lines
