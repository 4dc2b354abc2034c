"""`jullix-logger report`: the ledger as a table in the terminal, for users without Grafana.

`--day D` lists the day's hours, `--month M` its days (the default: this month), `--year Y` its
months, each with totals, the capacity-tariff peak and the KPIs. Estimated values carry a `~`.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import date, datetime
from typing import Any

from logger.cli.common import EXIT_CONFIG, EXIT_FAILED, EXIT_OK, settings_from
from logger.cli.logs import setup_logging
from logger.core.belgian_time import BRUSSELS, brussels_day, day_bounds
from logger.ledger.periods import DAY, HOUR, MONTH, month_bounds

COLUMNS = (
    ("import_kwh", "import"), ("export_kwh", "export"), ("solar_kwh", "solar"),
    ("battery_charged_kwh", "batt in"), ("battery_discharged_kwh", "batt out"),
    ("home_kwh", "home"),
)
FIELDS = (*(f for f, _ in COLUMNS), "peak_demand_w", "peak_start_s", "self_sufficiency_pct",
          "self_consumption_pct", "estimated", "demand_w")
PEAK_FIELDS = ("peak_w", "peak_start_s", "billed_w", "mean_12m_w", "meter_peak_w",
               "meter_diff_w")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--day", metavar="YYYY-MM-DD", help="one Belgian day, hour by hour")
    group.add_argument("--month", metavar="YYYY-MM", help="one month, day by day (default: "
                       "this month)")
    group.add_argument("--year", metavar="YYYY", type=int, help="one year, month by month")
    parser.add_argument("--cost", action="store_true", help="what it cost in EUR (and what the "
                        "battery and the sun saved), from the cost ledger (logger/cli/report_cost)")


def _window(args: argparse.Namespace) -> tuple[str, str, int, int, str]:
    """(title, period of the rows, start, end, period of the total)."""
    if args.day:
        day = date.fromisoformat(args.day)
        start, end = day_bounds(day)
        return f"{day.isoformat()}", HOUR, start, end, DAY
    if args.year:
        start = month_bounds(date(args.year, 1, 1))[0]
        end = month_bounds(date(args.year + 1, 1, 1))[0]
        return f"{args.year}", MONTH, start, end, ""
    if args.month:
        first = datetime.strptime(args.month, "%Y-%m").date()
    else:
        first = brussels_day(int(datetime.now().timestamp())).replace(day=1)
    start, end = month_bounds(first)
    return first.strftime("%Y-%m"), DAY, start, end, MONTH


def _label(t: int, period: str) -> str:
    local = datetime.fromtimestamp(t, BRUSSELS)
    if period == HOUR:
        # The zone only where it tells two hours apart: on the days the clocks change.
        start, end = day_bounds(local.date())
        return local.strftime("%H:%M %Z" if end - start != 86400 else "%H:%M")
    if period == DAY:
        return local.strftime("%a %d")
    return local.strftime("%Y-%m")


DECIMALS = {HOUR: 3, DAY: 2, MONTH: 1}  # 1 Wh, 10 Wh, 100 Wh: fits 80 columns


def _kwh(value: Any, estimated: bool, decimals: int = 3) -> str:
    if value is None:
        return "-"
    return f"{'~' if estimated else ''}{value:.{decimals}f}"


async def fetch(settings: Any, start: int, end: int, period: str, total: str
                 ) -> tuple[list[Any], list[Any], dict[int, Any]]:
    from logger.app.ledger_job import make_reads
    from logger.ledger.points import ENERGY, PEAK
    from logger.sink.influxql import InfluxQL

    ql = InfluxQL(settings.influx)
    try:
        reads = make_reads(settings, ql)
        rows = await reads.ledger_rows(ENERGY, FIELDS, start, end, {"period": period})
        totals = (await reads.ledger_rows(ENERGY, FIELDS, start, end, {"period": total})
                  if total else [])
        peaks = await reads.ledger_rows(PEAK, PEAK_FIELDS, start, end, {})
        return rows, totals, {r.time: dict(zip(PEAK_FIELDS, r.values, strict=True))
                              for r in peaks}
    finally:
        await ql.close()


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from logger.sink.influxql import QueryError

    settings = settings_from(args)
    setup_logging(args.log_level or "WARNING")
    try:
        title, period, start, end, total = _window(args)
    except ValueError as exc:
        print(f"jullix-logger report: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    if not settings.influx.configured:
        print("the report reads the ledger from InfluxDB: [influx] url is empty")
        return EXIT_FAILED
    if args.cost:
        from logger.cli import report_cost

        try:
            view = asyncio.run(report_cost.cost_view(settings, start, end, period, total))
        except QueryError as exc:
            print(f"report failed: {exc}")
            return EXIT_FAILED
        return report_cost.render(Console(width=80), title, view)
    try:
        rows, totals, peaks = asyncio.run(fetch(settings, start, end, period, total))
    except QueryError as exc:
        print(f"report failed: {exc}")
        return EXIT_FAILED
    return render(Console(), title, period, rows, totals, peaks)


def render(console: Any, title: str, period: str, rows: list[Any], totals: list[Any],
           peaks: dict[int, Any]) -> int:
    """The table and the capacity-tariff lines (also what the demo ends with)."""
    from rich import box
    from rich.table import Table

    if not rows:
        console.print(f"No ledger for {title} yet: `jullix-logger ledger --since ...` builds "
                      "it from history; the service keeps it current.")
        return EXIT_OK
    table = Table(title=f"Energy {title} (kWh; ~ estimated)", show_footer=bool(totals),
                  box=box.SIMPLE_HEAD)
    decimals = DECIMALS[period]
    table.add_column("period", footer="total" if totals else "")
    total_values = dict(zip(FIELDS, totals[0].values, strict=True)) if totals else {}
    for name, head in COLUMNS:
        table.add_column(head, justify="right", footer=_kwh(
            total_values.get(name), bool(total_values.get("estimated")), decimals))
    hourly = period == HOUR  # hours have no peak or KPIs of their own: narrower table
    if not hourly:
        table.add_column("peak kW", justify="right")
    table.add_column("self-suff", justify="right",
                     footer=_pct(total_values.get("self_sufficiency_pct")))
    for r in rows:
        v = dict(zip(FIELDS, r.values, strict=True))
        est = bool(v.get("estimated"))
        peak = v.get("peak_demand_w")
        extra = [] if hourly else ["-" if peak is None else f"{peak / 1000:.2f}"]
        table.add_row(_label(r.time, period),
                      *(_kwh(v.get(n), est, decimals) for n, _ in COLUMNS),
                      *extra, _pct(v.get("self_sufficiency_pct")))
    console.print(table)
    _print_peaks(console, peaks, period, total_values)
    return EXIT_OK


def _pct(value: Any) -> str:
    return "-" if value is None else f"{value:.0f} %"


def _print_peaks(console: Any, peaks: dict[int, Any], period: str, totals: dict[str, Any]
                 ) -> None:
    """The capacity tariff: the month's peak, what the bill counts, the rolling mean."""
    if period == HOUR and totals.get("peak_demand_w") is not None:
        at = datetime.fromtimestamp(int(totals["peak_start_s"]), BRUSSELS).strftime("%H:%M")
        console.print(f"Highest quarter-hour demand: {totals['peak_demand_w'] / 1000:.3f} kW "
                      f"at {at}")
        return
    for start in sorted(peaks):
        p = peaks[start]
        at = (datetime.fromtimestamp(int(p["peak_start_s"]), BRUSSELS).strftime("%d %H:%M")
              if p.get("peak_start_s") is not None else "?")
        meter = ("" if p.get("meter_peak_w") is None else
                 f"; meter {p['meter_peak_w'] / 1000:.3f} kW ({p['meter_diff_w']:+.0f} W)")
        console.print(f"Capacity tariff {_label(start, MONTH)}: peak {p['peak_w'] / 1000:.3f} kW "
                      f"(quarter from {at}), billed {p['billed_w'] / 1000:.3f} kW, 12-month "
                      f"mean {p['mean_12m_w'] / 1000:.3f} kW{meter}")
