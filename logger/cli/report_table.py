"""`report` as a table: fits the terminal (80 columns at least), a total row on every view,
then the day/night split, gas and water, the KPIs and the capacity tariff below it.

Columns appear only where the ledger has values (no solar column without solar). The core ones
(import, export, solar, battery, home, self-sufficiency, and the peak for days and months) fit
80 columns; car, gas, water, the night import and self-consumption are added while the terminal
is wide enough, and the line under the table says which were left out (`--json` has them all).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from logger.cli.report_data import Ledger, Period
from logger.core.belgian_time import BRUSSELS, day_bounds
from logger.ledger.periods import DAY, HOUR

DECIMALS = {HOUR: 3, DAY: 2}  # kWh: 1 Wh for hours, 10 Wh for days, 100 Wh for months/years


@dataclass(frozen=True)
class Column:
    name: str  # the ledger field
    head: str
    optional: bool = False  # shown only while the width allows
    kind: str = "kwh"  # kwh, m3, pct, kw


COLUMNS = (
    Column("import_kwh", "import"), Column("import_t2_kwh", "of it\nnight", optional=True),
    Column("export_kwh", "export"), Column("solar_kwh", "solar"),
    Column("battery_charged_kwh", "batt\nin"), Column("battery_discharged_kwh", "batt\nout"),
    Column("car_kwh", "car", optional=True), Column("home_kwh", "home"),
    Column("gas_m3", "gas\nm³", optional=True, kind="m3"),
    Column("water_m3", "water\nm³", optional=True, kind="m3"),
    Column("peak_demand_w", "peak\nkW", kind="kw"),
    Column("self_sufficiency_pct", "self-\nsuff", kind="pct"),
    Column("self_consumption_pct", "self-\ncons", optional=True, kind="pct"),
)
# Left out first when the terminal is narrow, and how the line under the table names them.
DROP_ORDER = {"self_consumption_pct": "self-consumption", "water_m3": "water", "gas_m3": "gas",
              "car_kwh": "car", "import_t2_kwh": "night import"}


def label(t: int, period: str) -> str:
    local = datetime.fromtimestamp(t, BRUSSELS)
    if period == HOUR:
        # The zone only where it tells two hours apart: on the days the clocks change.
        start, end = day_bounds(local.date())
        return local.strftime("%H:%M %Z" if end - start != 86400 else "%H:%M")
    if period == DAY:
        return local.strftime("%a %d")
    return local.strftime("%Y-%m")


def cell(value: Any, column: Column, decimals: int, estimated: bool) -> str:
    if value is None:
        return "-"
    if column.kind == "pct":
        return f"{value:.0f} %"
    if column.kind == "kw":
        return f"{value / 1000:.2f}"
    if column.kind == "m3":
        return f"{value:.3f}"
    return f"{'~' if estimated else ''}{value:.{decimals}f}"


def _present(ledger: Ledger, period: str) -> list[Column]:
    periods = [*ledger.rows, *([ledger.total] if ledger.total else [])]
    shown = [c for c in COLUMNS if any(p.values.get(c.name) is not None for p in periods)]
    if period == HOUR:
        shown = [c for c in shown if c.name != "peak_demand_w"]  # hours have no peak
    return shown


def _table(ledger: Ledger, title: str, period: str, columns: list[Column]) -> Any:
    from rich import box
    from rich.table import Table

    decimals = DECIMALS.get(period, 1)
    total = ledger.total
    table = Table(title=f"Energy {title} (kWh; ~ estimated)", show_footer=total is not None,
                  box=box.SIMPLE_HEAD, padding=(0, 1), pad_edge=False, collapse_padding=True)
    table.add_column("period", footer="total" if total else "", no_wrap=True)
    for column in columns:
        footer = (cell(total.values.get(column.name), column, decimals, total.estimated)
                  if total else "")
        table.add_column(column.head, justify="right", footer=footer, no_wrap=True)
    for row in ledger.rows:
        table.add_row(label(row.start, period), *(
            cell(row.values.get(c.name), c, decimals, row.estimated) for c in columns))
    return table


def _width(table: Any) -> int:
    from rich.console import Console

    probe = Console(file=io.StringIO(), width=1000, color_system=None)
    probe.print(table)
    return max(len(line.rstrip()) for line in probe.file.getvalue().splitlines())


def render(console: Any, title: str, period: str, ledger: Ledger) -> list[str]:
    """Print the table that fits `console.width`; returns the columns it left out."""
    columns = _present(ledger, period)
    left_out: list[str] = []
    table = _table(ledger, title, period, columns)
    for name in DROP_ORDER:
        if _width(table) <= console.width:
            break
        if any(c.name == name for c in columns):
            columns = [c for c in columns if c.name != name]
            left_out.append(DROP_ORDER[name])
            table = _table(ledger, title, period, columns)
    console.print(table)
    if left_out:
        console.print(f"(not shown at {console.width} columns: {', '.join(left_out)}; a wider "
                      "terminal or --json has them)")
    if ledger.total is not None:
        for line in summary_lines(ledger.total):
            console.print(line)
    return left_out


def summary_lines(total: Period) -> list[str]:
    """The total's day/night split, gas and water, and KPIs, in words."""
    v = total.values
    lines = []
    for what, key in (("Import", "import"), ("Export", "export")):
        t1, t2 = v.get(f"{key}_t1_kwh"), v.get(f"{key}_t2_kwh")
        if t1 is not None and t2 is not None:
            lines.append(f"{what}: day tariff {t1:.3f} kWh, night tariff {t2:.3f} kWh")
    meters = [f"{what} {v[name]:.3f} m³" for what, name in (("gas", "gas_m3"),
                                                             ("water", "water_m3"))
              if v.get(name) is not None]
    if meters:
        lines.append("Used: " + ", ".join(meters))
    kpis = [f"{what} {v[name]:.0f} %" for what, name in (
        ("self-sufficiency", "self_sufficiency_pct"), ("self-consumption", "self_consumption_pct"))
        if v.get(name) is not None]
    if kpis:
        lines.append("KPIs: " + ", ".join(kpis))
    return lines


def print_peaks(console: Any, ledger: Ledger, period: str) -> None:
    """The capacity tariff: the month's peak, what the bill counts, the rolling mean."""
    total = ledger.total.values if ledger.total else {}
    if period == HOUR and total.get("peak_demand_w") is not None:
        at = datetime.fromtimestamp(int(total["peak_start_s"]), BRUSSELS).strftime("%H:%M")
        console.print(f"Highest quarter-hour demand: {total['peak_demand_w'] / 1000:.3f} kW "
                      f"at {at}")
        return
    for start in sorted(ledger.peaks):
        p = ledger.peaks[start]
        at = (datetime.fromtimestamp(int(p["peak_start_s"]), BRUSSELS).strftime("%d %H:%M")
              if p.get("peak_start_s") is not None else "?")
        meter = ("" if p.get("meter_peak_w") is None else
                 f"; meter {p['meter_peak_w'] / 1000:.3f} kW ({p['meter_diff_w']:+.0f} W)")
        months = p.get("months_in_mean")
        covers = (f" (of {int(months)} month{'s' if months != 1 else ''} so far)"
                  if months is not None and months < 12 else "")
        console.print(f"Capacity tariff {label(start, 'month')}: peak {p['peak_w'] / 1000:.3f} "
                      f"kW (quarter from {at}), billed {p['billed_w'] / 1000:.3f} kW, 12-month "
                      f"mean {p['mean_12m_w'] / 1000:.3f} kW{covers}{meter}")
