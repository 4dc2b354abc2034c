"""What `jullix-logger report` reads: the ledger's periods of a window, their total, the
capacity-tariff months, and, when there is nothing, what was looked for and what exists.

Every ledger field is read (docs/schema.md, "The energy ledger"), so the table, `--json` and the
views built on them (the cost engine) see the same numbers. A year has no ledger period of its
own: its total is the sum of its months, with the KPIs by the ledger's own rules
(logger.ledger.tariff).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from logger.config import Settings
from logger.core.belgian_time import brussels_day, month_start
from logger.ledger.points import ENERGY, PEAK
from logger.ledger.tariff import self_consumption_pct, self_sufficiency_pct
from logger.sink.influxql import InfluxQL, QueryError, quote_ident, quote_string

# Every field of ledger_energy and ledger_peak, with its unit (the schema's contract).
ENERGY_UNITS: dict[str, str] = {
    "import_kwh": "kWh", "import_t1_kwh": "kWh", "import_t2_kwh": "kWh",
    "export_kwh": "kWh", "export_t1_kwh": "kWh", "export_t2_kwh": "kWh",
    "solar_kwh": "kWh", "battery_charged_kwh": "kWh", "battery_discharged_kwh": "kWh",
    "car_kwh": "kWh", "consumption_kwh": "kWh", "home_kwh": "kWh",
    "gas_m3": "m³", "water_m3": "m³",
    "demand_w": "W", "peak_demand_w": "W", "peak_start_s": "epoch s",
    "self_consumption_pct": "%", "self_sufficiency_pct": "%",
    "estimated": "0/1", "coverage_pct": "%", "readings": "count", "profile_points": "count",
    "days": "count", "resets": "count",
}
PEAK_UNITS: dict[str, str] = {
    "peak_w": "W", "peak_start_s": "epoch s", "billed_w": "W", "mean_12m_w": "W",
    "months_in_mean": "count", "meter_peak_w": "W", "meter_peak_s": "epoch s",
    "meter_diff_w": "W", "estimated": "0/1",
}
SUMMED = [name for name, unit in ENERGY_UNITS.items() if unit in ("kWh", "m³")] + [
    "readings", "profile_points", "days", "resets"]


@dataclass
class Period:
    """One ledger period (or a total): its start, end, kind and every field it has."""

    start: int
    end: int
    kind: str  # "1h", "1d", "1mo", or "1y" for a year's total
    values: dict[str, Any] = field(default_factory=dict)

    @property
    def estimated(self) -> bool:
        return bool(self.values.get("estimated"))


@dataclass
class Ledger:
    rows: list[Period]
    total: Period | None
    peaks: dict[int, dict[str, Any]]


async def fetch(settings: Settings, start: int, end: int, period: str, total: str,
                ends: dict[int, int]) -> Ledger:
    """The window's periods, its total (`total` period, "" for a year: summed) and peaks.
    `ends` maps each row start to its end (Belgian days and months vary in length)."""
    from logger.app.ledger_job import make_reads

    ql = InfluxQL(settings.influx)
    try:
        reads = make_reads(settings, ql)
        energy = list(ENERGY_UNITS)
        rows = [Period(r.time, ends.get(r.time, end), period,
                       dict(zip(energy, r.values, strict=True)))
                for r in await reads.ledger_rows(ENERGY, energy, start, end, {"period": period})]
        totals = (await reads.ledger_rows(ENERGY, energy, start, end, {"period": total})
                  if total else [])
        whole = (Period(start, end, total, dict(zip(energy, totals[0].values, strict=True)))
                 if totals else sum_periods(rows, start, end) if not total and rows else None)
        # The capacity tariff of every month the window touches (a day's is its month's).
        peaks = {r.time: dict(zip(PEAK_UNITS, r.values, strict=True)) for r in
                 await reads.ledger_rows(PEAK, list(PEAK_UNITS), month_start(start), end, {})}
        return Ledger(rows, whole, peaks)
    finally:
        await ql.close()


def sum_periods(rows: list[Period], start: int, end: int) -> Period:
    """A year's total from its months: energies and counts summed, estimated when any month
    is, coverage weighted by length, the highest peak, the KPIs by the ledger's rules."""
    total: dict[str, Any] = {}
    for name in SUMMED:
        values = [r.values[name] for r in rows if r.values.get(name) is not None]
        total[name] = round(sum(values), 6) if values else None
    total["estimated"] = 1.0 if any(r.estimated for r in rows) else 0.0
    length = sum(r.end - r.start for r in rows)
    total["coverage_pct"] = round(sum((r.values.get("coverage_pct") or 0.0) * (r.end - r.start)
                                      for r in rows) / length, 3) if length else None
    peaked = [r for r in rows if r.values.get("peak_demand_w") is not None]
    best = max(peaked, key=lambda r: r.values["peak_demand_w"], default=None)
    total["peak_demand_w"] = best.values["peak_demand_w"] if best else None
    total["peak_start_s"] = best.values.get("peak_start_s") if best else None
    consumption, imported = total.get("consumption_kwh"), total.get("import_kwh")
    total["self_sufficiency_pct"] = (None if consumption is None else
                                     self_sufficiency_pct(consumption, imported or 0.0))
    solar = total.get("solar_kwh")
    total["self_consumption_pct"] = (None if solar is None else
                                     self_consumption_pct(solar, total.get("export_kwh") or 0.0))
    return Period(start, end, "1y", total)


async def explain_empty(settings: Settings, title: str) -> str:
    """Why there is no ledger for `title`: what was looked for, where, and what exists there
    (the databases, the ledger's retention policy, the installations it holds, the days)."""
    from logger.sink.influxql import query_target
    from logger.sink.targets import ledger_influx

    database, rp = query_target(ledger_influx(settings))
    where = (f"ledger_energy of installation {settings.installation!r} in database "
             f"{database!r}, retention policy {rp!r}, at {settings.influx.display_url}")
    ql = InfluxQL(settings.influx)
    try:
        names = {v[0] for s in await ql.query("SHOW DATABASES", database="")
                 for v in s.get("values") or []}
        if database not in names:
            shown = ", ".join(sorted(n for n in names if not n.startswith("_"))) or "none"
            return (f"no ledger for {title}: looked for {where}, but that database does not "
                    f"exist (databases there: {shown}); check [influx] database or bucket")
        policies = {v[0] for s in await ql.query(f"SHOW RETENTION POLICIES ON "
                                                 f"{quote_ident(database)}", database="")
                    for v in s.get("values") or []}
        if rp not in policies:
            return (f"no ledger for {title}: looked for {where}, but that retention policy "
                    "does not exist: the ledger was never built there (`jullix-logger ledger "
                    "--since YYYY-MM-DD` builds it; the service keeps it current)")
        source = f"{quote_ident(database)}.{quote_ident(rp)}.{quote_ident(ENERGY)}"
        tags = await ql.query(f'SHOW TAG VALUES FROM {source} WITH KEY = "installation"',
                              database=database)
        installations = sorted({v[1] for s in tags for v in s.get("values") or []})
        if settings.installation not in installations:
            shown = ", ".join(repr(i) for i in installations) or "none"
            return (f"no ledger for {title}: looked for {where}; the ledger there has the "
                    f"installations {shown} (set `installation` in the config)")
        where_day = (f"installation = {quote_string(settings.installation)} AND "
                     "period = '1d'")
        first, last = [await ql.query(f'SELECT {selector}("estimated") FROM {source} WHERE '
                                      f"{where_day}", database=database)
                       for selector in ("first", "last")]
        return (f"no ledger for {title}: looked for {where}; it has the days from "
                f"{_day(first)} to {_day(last)}")
    except QueryError as exc:
        return f"no ledger for {title}: looked for {where}, and InfluxDB answered: {exc}"
    finally:
        await ql.close()


def _day(series: list[dict[str, Any]]) -> str:
    """The Belgian day of a selector's answer (its time is the point's)."""
    values = series[0].get("values") if series else None
    return str(brussels_day(int(values[0][0]))) if values else "?"
