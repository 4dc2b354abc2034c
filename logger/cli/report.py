"""`jullix-logger report`: the energy ledger in the terminal (or as JSON), for users without
Grafana and for scripts.

`--day D` lists the day's hours, `--month M` its days (the default: this month), `--year Y` its
months; every view ends with a total row, the day/night split, gas and water, the KPIs and the
capacity tariff. Estimated values carry a `~`. The table fits the terminal (80 columns at
least; logger/cli/report_table.py); `--json` prints every ledger field of every period with its
unit instead (logger/cli/report_json.py, docs/report-json.md). When the ledger has nothing for
the window it says what it looked for and where, and what exists there, and exits 1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
from datetime import date, datetime
from typing import Any

from logger.cli.common import EXIT_CONFIG, EXIT_FAILED, EXIT_OK, settings_from
from logger.cli.logs import setup_logging
from logger.cli.report_data import Ledger, explain_empty, fetch
from logger.core.belgian_time import BRUSSELS, brussels_day, day_bounds
from logger.ledger.periods import DAY, HOUR, MONTH, month_bounds


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--day", metavar="YYYY-MM-DD", help="one Belgian day, hour by hour")
    group.add_argument("--month", metavar="YYYY-MM", help="one month, day by day (default: "
                       "this month)")
    group.add_argument("--year", metavar="YYYY", help="one year, month by month")
    parser.add_argument("--json", action="store_true",
                        help="print the ledger as JSON instead: one object per period with "
                        "every ledger field, units in the names (docs/report-json.md)")
    parser.add_argument("--cost", action="store_true", help="what it cost in EUR (and what the "
                        "battery and the sun saved), from the cost ledger (logger/cli/report_cost)")


class Window:
    """What a view covers: its title, the rows' period, [start, end), the total's period
    ("" for a year: summed from its months) and each row's end."""

    def __init__(self, view: str, title: str, period: str, start: int, end: int,
                 total: str) -> None:
        self.view, self.title, self.period = view, title, period
        self.start, self.end, self.total = start, end, total

    def ends(self) -> dict[int, int]:
        """Each row's end (days are 23-25 h, months 28-31 days)."""
        starts: list[int] = []
        t = self.start
        while t < self.end:
            starts.append(t)
            local = datetime.fromtimestamp(t, BRUSSELS).date()
            if self.period == HOUR:
                t += 3600
            elif self.period == DAY:
                t = day_bounds(local)[1]
            else:
                t = month_bounds(local)[1]
        return dict(zip(starts, [*starts[1:], self.end], strict=True))


def window(args: argparse.Namespace, today: date | None = None) -> Window:
    """The view the arguments ask for; ValueError names the option and what it takes."""
    if args.day:
        try:
            day = date.fromisoformat(args.day)
        except ValueError:
            raise ValueError(f"--day {args.day!r} is not a date (YYYY-MM-DD)") from None
        start, end = day_bounds(day)
        return Window("day", day.isoformat(), HOUR, start, end, DAY)
    if args.year:
        if not re.fullmatch(r"\d{4}", args.year) or not 2000 <= int(args.year) <= 2999:
            raise ValueError(f"--year {args.year!r} is not a year (four digits, e.g. 2026)")
        year = int(args.year)
        start = month_bounds(date(year, 1, 1))[0]
        end = month_bounds(date(year + 1, 1, 1))[0]
        return Window("year", str(year), MONTH, start, end, "")
    if args.month:
        try:
            first = datetime.strptime(args.month, "%Y-%m").date()
        except ValueError:
            raise ValueError(f"--month {args.month!r} is not a month (YYYY-MM)") from None
    else:
        first = (today or brussels_day(int(datetime.now().timestamp()))).replace(day=1)
    start, end = month_bounds(first)
    return Window("month", first.strftime("%Y-%m"), DAY, start, end, MONTH)


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from logger.sink.influxql import QueryError

    settings = settings_from(args)
    setup_logging(args.log_level or "WARNING")
    try:
        view = window(args)
    except ValueError as exc:
        print(f"jullix-logger report: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    if not settings.influx.configured:
        print("the report reads the ledger from InfluxDB: [influx] url is empty",
              file=sys.stderr)
        return EXIT_FAILED
    from logger.cli import report_cost, report_fluvius

    costs = None
    if args.cost or args.json:  # the JSON view carries the cost of each period when there is one
        try:
            costs = asyncio.run(report_cost.cost_view(settings, view.start, view.end,
                                                      view.period, view.total))
        except QueryError as exc:
            print(f"report failed: {exc}", file=sys.stderr)
            return EXIT_FAILED
    if args.cost and not args.json:
        return report_cost.render(Console(width=80), view.title, costs)
    try:
        ledger = asyncio.run(fetch(settings, view.start, view.end, view.period, view.total,
                                   view.ends()))
        if not ledger.rows:
            print(asyncio.run(explain_empty(settings, view.title)), file=sys.stderr)
            return EXIT_FAILED
        fluvius = asyncio.run(report_fluvius.fetch(settings, view.start, view.end, view.period,
                                                   view.total))
    except QueryError as exc:
        print(f"report failed: {exc}", file=sys.stderr)
        return EXIT_FAILED
    if args.json:
        from logger.cli.report_json import document

        doc = document(settings.installation, view.view, view.title, view.start, view.end,
                       ledger, report_cost.json_decorator(costs))
        doc["units"]["cost"] = report_cost.JSON_UNIT
        json.dump(doc, sys.stdout, indent=1, ensure_ascii=False)
        sys.stdout.write("\n")
        return EXIT_OK
    console = Console()
    code = render(console, view, ledger)
    for line in report_fluvius.lines(view.period, *fluvius):  # Fluvius's quarter-hours, if any
        console.print(line, highlight=False)
    return code


def render(console: Any, view: Window, ledger: Ledger) -> int:
    """The table, its totals and the capacity tariff (also what the demo ends with)."""
    from logger.cli.report_table import print_peaks
    from logger.cli.report_table import render as table

    table(console, view.title, view.period, ledger)
    print_peaks(console, ledger, view.period)
    return EXIT_OK
