"""`jullix-logger report --cost`: what the energy cost (and what the battery and the sun saved),
from the cost ledger, in EUR, in 80 columns.

`cost_view` returns the figures as plain data (one dict per period, the fields of `ledger_cost`;
the totals; the capacity tariff; the savings), which is what a JSON view prints; `render` turns it
into the table. A missing period (no day-ahead price) shows `-`, never 0, and says how to fill it
in; estimated values carry a `~`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from logger.cli.report_table import label
from logger.core.belgian_time import BRUSSELS
from logger.ledger.cost_points import COST, COST_FIELDS, SAVINGS, SAVINGS_FIELDS
from logger.ledger.periods import DAY, HOUR, MONTH
from logger.ledger.points import PEAK

SUMMED = ("import_kwh", "export_kwh", "energy_eur", "grid_eur", "levies_eur", "injection_eur",
          "fixed_eur", "capacity_eur", "vat_eur", "total_eur", "missing_quarters", "quarters",
          "days")
SAVINGS_SUMMED = ("cost_eur", "cost_no_battery_eur", "cost_no_solar_eur", "battery_eur",
                  "battery_arbitrage_eur", "battery_capacity_eur", "solar_eur",
                  "solar_avoided_import_eur", "solar_injection_eur")


def _iso(t: int) -> str:
    return datetime.fromtimestamp(t, BRUSSELS).isoformat()


def _sum(rows: list[dict[str, Any]], names: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in names:
        values = [r.get(name) for r in rows]
        out[name] = None if any(v is None for v in values) or not values else sum(values)
    out["missing"] = max((r.get("missing") or 0 for r in rows), default=0)
    out["estimated"] = max((r.get("estimated") or 0 for r in rows), default=0)
    return out


async def cost_view(settings: Any, start: int, end: int, period: str, total: str
                    ) -> dict[str, Any]:
    """The cost figures of [start, end): `rows` (one per `period`), `total`, `capacity` (the
    months' peaks), `savings`; plain data a JSON view can print as it is."""
    from logger.app.ledger_job import make_reads
    from logger.sink.influxql import InfluxQL

    ql = InfluxQL(settings.influx)
    try:
        reads = make_reads(settings, ql)

        async def rows_of(measurement: str, fields: tuple[str, ...], kind: str
                          ) -> list[dict[str, Any]]:
            found = await reads.ledger_rows(measurement, fields, start, end, {"period": kind})
            return [{"start": _iso(r.time), "time": r.time,
                     **dict(zip(fields, r.values, strict=True))} for r in found]

        rows = await rows_of(COST, COST_FIELDS, period)
        totals = await rows_of(COST, COST_FIELDS, total or MONTH)
        savings = await rows_of(SAVINGS, SAVINGS_FIELDS, total or MONTH)
        peaks = await reads.ledger_rows(PEAK, ("mean_12m_w", "billed_w"), start, end, {})
    finally:
        await ql.close()
    whole = _sum(totals, SUMMED) if totals else None
    if whole is not None and total:
        whole = {**totals[0], **whole}
    saved = _sum(savings, SAVINGS_SUMMED) if savings else None
    return {"period": period, "start": _iso(start), "end": _iso(end), "rows": rows,
            "total": whole, "savings": saved,
            "capacity": [{"month": _iso(r.time), "mean_12m_w": r.values[0],
                          "billed_w": r.values[1]} for r in peaks]}


def _eur(value: Any, estimated: bool = False) -> str:
    if value is None:
        return "-"
    return f"{'~' if estimated else ''}{round(value, 2) + 0.0:.2f}"  # never "-0.00"



def _cells(v: dict[str, Any], period: str) -> list[str]:
    est = bool(v.get("estimated"))
    missing = bool(v.get("missing"))
    network = (None if v.get("grid_eur") is None or v.get("levies_eur") is None
               else v["grid_eur"] + v["levies_eur"])
    inject = v.get("injection_eur")
    cells = [f"{v.get('import_kwh') or 0:.1f}", f"{v.get('export_kwh') or 0:.1f}"]
    money = [v.get("energy_eur"), network]
    if period != HOUR:  # days and months: the fixed fees and the month's capacity tariff
        money += [v.get("fixed_eur"), v.get("capacity_eur")]
    money += [v.get("vat_eur"), None if inject is None else -inject]
    cells += ["-" if missing else _eur(m) for m in money]
    if period == DAY:
        cells[5] = "" if v.get("capacity_eur") is None and not missing else cells[5]
    cells.append("price?" if missing else _eur(v.get("total_eur"), est))
    if period != MONTH:
        price = v.get("price_eur_mwh")
        cells.append("-" if price is None else f"{price:.1f}")
    return cells


def render(console: Any, title: str, view: dict[str, Any]) -> int:
    """The table, the capacity tariff and what the battery and the sun saved."""
    from rich import box
    from rich.table import Table

    period, rows, whole = view["period"], view["rows"], view["total"]
    if not rows:
        console.print(f"No cost ledger for {title} yet: it needs [[tariff]] in the config, "
                      "day-ahead prices for a dynamic contract (`jullix-logger prices fetch`) "
                      "and `jullix-logger cost --since ...` for history (the service keeps the "
                      "recent days current).")
        return 0
    heads = ["in", "out", "energy", "grid"]
    heads += ["fixed", "capac."] if period != HOUR else []
    heads += ["VAT", "inject", "total"] + (["€/MWh"] if period != MONTH else [])
    table = Table(title=f"Cost {title}: EUR (grid: fees and levies; inject: what export "
                  "earned, as -); in/out: kWh imported and exported; ~ estimated",
                  show_footer=whole is not None, box=box.SIMPLE_HEAD, show_edge=False,
                  padding=(0, 0))  # the box's column divider is the space: fits 80 columns
    footer = _cells(whole, period) if whole is not None else [""] * len(heads)
    table.add_column("period", footer="total" if whole is not None else "")
    for head, foot in zip(heads, footer, strict=True):
        table.add_column(head, justify="right", footer=foot)
    for v in rows:
        table.add_row(label(v["time"], period), *_cells(v, period))
    console.print(table)
    _notes(console, view)
    return 0


def _notes(console: Any, view: dict[str, Any]) -> None:
    whole, saved = view["total"], view["savings"]
    for cap in view["capacity"]:
        if cap["mean_12m_w"] is not None and view["period"] == DAY and whole is not None:
            console.print(f"Capacity tariff {cap['month'][:7]}: 12-month mean "
                          f"{cap['mean_12m_w'] / 1000:.3f} kW (this month billed "
                          f"{cap['billed_w'] / 1000:.3f} kW), in the month's total only")
    missing = [v for v in view["rows"] if v.get("missing")]
    if missing or (whole is not None and whole.get("missing")):
        quarters = sum(int(v.get("missing_quarters") or 0) for v in missing)
        first = missing[0]["start"][:10] if missing else view["start"][:10]
        console.print(f"Missing: {quarters} quarter-hour(s) without the day-ahead price their "
                      f"contract needs, not costed: `jullix-logger prices fetch --since "
                      f"{first} --until ...`, then `jullix-logger cost --since {first}`")
    if saved and saved.get("battery_eur") is not None:
        capacity = saved.get("battery_capacity_eur") or 0.0
        console.print(f"Saved (estimates): battery {saved['battery_eur']:.2f} EUR (energy and "
                      f"arbitrage {saved['battery_eur'] - capacity:.2f}, capacity tariff "
                      f"{capacity:.2f}); sun {saved['solar_eur']:.2f} EUR (avoided import "
                      f"{saved['solar_avoided_import_eur']:.2f}, injection "
                      f"{saved['solar_injection_eur']:.2f})")


JSON_UNIT = ("EUR: the period's `ledger_cost` fields as docs/schema.md names them; null where "
             "the period has not been costed (no [[tariff]], no day-ahead price yet)")


def json_decorator(view: dict[str, Any] | None) -> Callable[[dict[str, Any], Any], None]:
    """For `report --json` (logger/cli/report_json.py): each period object gets `cost`, its
    row of the cost ledger (fields in EUR as docs/schema.md names them), and the total the
    total's; null where the cost ledger has none (no contract, or not costed yet)."""
    view = view or {}
    by_start = {row["time"]: row for row in view.get("rows", [])}

    def decorate(obj: dict[str, Any], period: Any) -> None:
        is_row = period.kind == view.get("period")
        row = by_start.get(period.start) if is_row else view.get("total")
        obj["cost"] = None if row is None else {k: v for k, v in row.items()
                                                if k not in ("start", "time")}

    return decorate
