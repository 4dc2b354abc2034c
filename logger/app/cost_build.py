"""Costing spans of the ledger: one implementation for the `cost` command (a range of history)
and the service's cost job (the last days, after each ledger update).

A span is costed a month at a time (memory stays that of one month): its quarter-hours from the
ledger and the day-ahead prices, then hours, the ledger's complete days and the month, the month
summing the days this run costed and, for the others, what the cost ledger holds; the same for
the savings. Every period is then compared with what `ledger_cost` / `ledger_savings` hold, and
only those that differ (or are new) are written: late prices, late energy, a rebuilt ledger or an
edited contract rewrite exactly the periods they change, and an unchanged quarter costs no write.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

from logger.app.cost_inputs import SpanData, read_span, read_splits
from logger.config import Settings
from logger.core.belgian_time import brussels_day, day_bounds
from logger.core.point import Point
from logger.ledger.cost import (
    Book,
    CostRow,
    capacity_share,
    cost_quarter,
    day_fixed,
    day_row,
    month_row,
    summed,
)
from logger.ledger.cost_points import (
    COST,
    SAVINGS,
    cost_fields,
    cost_from_fields,
    counterfactual_fields,
    point,
    savings_fields,
    savings_from_fields,
)
from logger.ledger.periods import month_bounds, month_start, next_month
from logger.ledger.savings import (
    Counterfactual,
    SavingsRow,
    counterfactual,
    mean_12m,
    night_share,
    register_energy,
    savings_quarter,
)
from logger.ledger.savings import summed as summed_savings
from logger.ledger.tariff import billed
from logger.sink.ledger_reads import LedgerReads

Emit = Callable[[list[Point]], None]
Fields = dict[str, float | None]


@dataclass
class CostReport:
    quarters: int = 0  # quarter-hours costed (or found missing)
    missing: int = 0  # of which without the day-ahead price they need
    days: int = 0
    months: int = 0
    points: int = 0  # points written (new or changed periods)
    written: dict[str, int] = field(default_factory=dict)  # "ledger_cost 15m" -> count
    rows: list[CostRow] = field(default_factory=list)  # kept only when asked (tests)


def same(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


def months_before(first: date, count: int) -> date:
    for _ in range(count):
        first = month_start(first - timedelta(days=1))
    return first


class CostBuilder:
    """Costs spans of days; `emit` receives the points of the periods that changed."""

    def __init__(self, settings: Settings, reads: LedgerReads, emit: Emit,
                 keep_rows: bool = False) -> None:
        self.book = Book(settings.tariff)
        self.zone = settings.prices.zone
        self.installation = settings.installation
        self.reads = reads
        self.emit = emit
        self.keep_rows = keep_rows
        # This run's months' counterfactual billed peaks (the next months' 12-month means see
        # them before they reach InfluxDB): month start -> {"billed_no_battery_w": W, ...}
        self._billed: dict[int, dict[str, float | None]] = {}

    async def run(self, first: date, last: date) -> CostReport:
        """Cost every Belgian day of [first, last] (and the months they are in)."""
        report = CostReport()
        month = month_start(first)
        while month <= last:
            following = next_month(month)
            lo = max(first, month)
            hi = min(last, following - timedelta(days=1))
            await self._month(month, lo, hi, report)
            month = following
        return report

    async def _month(self, first: date, lo: date, hi: date, report: CostReport) -> None:
        bounds = month_bounds(first)
        start, end = day_bounds(lo)[0], day_bounds(hi)[1]
        earliest = month_bounds(months_before(first, 11))[0]
        data = await read_span(self.reads, self.zone, start, end, bounds, earliest, True)
        uncosted = [t for t in data.days if not start <= t < end and ("1d", t) not in data.cost
                    and self.book.at(t) is not None]
        if uncosted and lo != first:  # days of this month never costed: the whole month
            await self._month(first, first, max(hi, brussels_day(max(uncosted))), report)
            return
        costs = {q: row for q, f in data.flows.items()
                 if (row := cost_quarter(self.book, f.energy, data.prices)) is not None}
        report.quarters += len(costs)
        report.missing += sum(row.missing for row in costs.values())
        cfs = await self._counterfactuals(data, costs)
        cost_out: dict[tuple[str, int], Fields] = {}
        for q, row in costs.items():
            cost_out[("15m", q)] = {**cost_fields(row), **counterfactual_fields(cfs[q])}
        for h in range(start, end, 3600):
            parts = [costs.get(h + i * 900) for i in range(4)]
            if all(p is not None for p in parts):
                cost_out[("1h", h)] = cost_fields(summed("1h", h, h + 3600, _all(parts)))
        days: dict[int, CostRow] = {}
        for t in sorted(data.days):
            if not start <= t < end:
                stored = data.cost.get(("1d", t))
                if stored is not None:
                    days[t] = cost_from_fields("1d", t, _end(t), stored)
                continue
            quarters = [costs.get(q) for q in range(t, _end(t), 900)]
            if all(q is not None for q in quarters):
                days[t] = day_row(self.book, brussels_day(t), _all(quarters))
                cost_out[("1d", t)] = cost_fields(days[t])
                report.days += 1
        month = None
        if data.month and days:
            month = month_row(self.book, *bounds, [days[t] for t in sorted(days)],
                              data.mean_12m_w)
            cost_out[("1mo", bounds[0])] = cost_fields(month)
            report.months += 1
        if self.keep_rows:
            report.rows += [*costs.values(), *(d for t, d in days.items() if start <= t < end)]
            report.rows += [month] if month is not None else []
        self._write(COST, cost_out, data.cost, report)
        savings = self._savings(data, costs, cfs, days, bounds, (start, end))
        self._write(SAVINGS, savings, data.savings, report)

    async def _counterfactuals(self, data: SpanData, costs: dict[int, CostRow]
                               ) -> dict[int, Counterfactual]:
        """Each costed quarter without battery and without solar: from `power_flow`, read
        again only where its points (or the quarter's energy) changed since the stored cost
        quarter was made, which carries the counterfactual energies."""
        out: dict[int, Counterfactual] = {}
        fresh = []
        for q in costs:
            count = data.flow_counts.get(q, 0)
            stored = data.cost.get(("15m", q))
            energy = data.flows[q].energy
            unchanged = (stored is not None and int(stored.get("profile_points") or -1) == count
                         and same(stored.get("import_kwh"), energy.imported / 1000)
                         and same(stored.get("export_kwh"), energy.exported / 1000))
            if not count:
                out[q] = counterfactual(data.flows[q], None)
            elif unchanged and stored is not None:
                out[q] = _stored_counterfactual(data, q, stored)
            else:
                fresh.append(q)
        splits = await read_splits(self.reads, fresh) if fresh else {}
        for q in fresh:
            out[q] = counterfactual(data.flows[q], splits.get(q))
        return out

    def _savings(self, data: SpanData, costs: dict[int, CostRow],
                 cfs: dict[int, Counterfactual], days: dict[int, CostRow],
                 bounds: tuple[int, int], span: tuple[int, int]
                 ) -> dict[tuple[str, int], Fields]:
        """The savings of the span's days and of the month (`ledger_savings` has no shorter
        periods: a quarter's counterfactual energies are on its `ledger_cost` point)."""
        out: dict[tuple[str, int], Fields] = {}
        rows: dict[int, SavingsRow] = {}
        for q, cost in costs.items():
            contract = self.book.at(q)
            cf = cfs[q]
            if cost.missing or contract is None:
                rows[q] = SavingsRow("15m", q, q + 900, missing=1, points=cf.points)
                rows[q].import_no_battery_wh = cf.no_battery.imported
                rows[q].export_no_battery_wh = cf.no_battery.exported
                rows[q].import_no_solar_wh = cf.no_solar.imported
            else:
                rows[q] = savings_quarter(contract, data.flows[q], cf, cost.charges, data.prices)
        month_days: list[SavingsRow] = []
        for t in sorted(days):
            if not span[0] <= t < span[1]:
                stored = data.savings.get(("1d", t))
                if stored is not None:
                    month_days.append(savings_from_fields("1d", t, _end(t), stored))
                continue
            day = summed_savings("1d", t, _end(t), (rows[q] for q in range(t, _end(t), 900)))
            contract = self.book.at(t)
            if contract is not None:
                for name in ("actual", "no_battery", "no_solar"):
                    getattr(day, name).add(day_fixed(contract, brussels_day(t)))
            out[("1d", t)] = savings_fields(day)
            month_days.append(day)
        if data.month and days and month_days:
            out[("1mo", bounds[0])] = savings_fields(self._savings_month(data, bounds,
                                                                         month_days))
        return out

    def _savings_month(self, data: SpanData, bounds: tuple[int, int], days: list[SavingsRow]
                       ) -> SavingsRow:
        row = summed_savings("1mo", *bounds, days)
        dates = [brussels_day(d.start) for d in days]
        earlier = {t: b for t, b in data.billed.items() if t < bounds[0]}
        means = {}
        known = {**data.earlier_savings, **self._billed}
        for scenario, peak in (("no_battery", row.peak_no_battery_w),
                               ("no_solar", row.peak_no_solar_w)):
            mine = {t: float(known.get(t, {}).get(f"billed_{scenario}_w") or b)
                    for t, b in earlier.items()}
            means[scenario] = mean_12m(peak, dict(sorted(mine.items(), reverse=True)))
        row.mean_no_battery_w, row.mean_no_solar_w = means["no_battery"], means["no_solar"]
        if data.mean_12m_w is not None:
            row.capacity_actual = capacity_share(self.book, dates, data.mean_12m_w)
            row.capacity_no_battery = capacity_share(self.book, dates, means["no_battery"])
            row.capacity_no_solar = capacity_share(self.book, dates, means["no_solar"])
        row.actual.add(row.capacity_actual)
        row.no_battery.add(row.capacity_no_battery)
        row.no_solar.add(row.capacity_no_solar)
        self._billed[bounds[0]] = {"billed_no_battery_w": billed(row.peak_no_battery_w),
                                   "billed_no_solar_w": billed(row.peak_no_solar_w)}
        return row

    def _write(self, measurement: str, computed: dict[tuple[str, int], Fields],
               stored: dict[tuple[str, int], Fields], report: CostReport) -> None:
        points = []
        for (kind, start), fields in sorted(computed.items(), key=lambda kv: kv[0][1]):
            old = stored.get((kind, start))
            if old is not None and all(same(v, old.get(k)) for k, v in fields.items()
                                       if v is not None):
                continue
            p = point(measurement, kind, start, fields, self.installation)
            if p is not None:
                points.append(p)
                name = f"{measurement} {kind}"
                report.written[name] = report.written.get(name, 0) + 1
        if points:
            self.emit(points)
            report.points += len(points)


def _all(rows: Iterable[CostRow | None]) -> list[CostRow]:
    return [r for r in rows if r is not None]


def _end(day_start: int) -> int:
    return day_bounds(brussels_day(day_start))[1]


def _stored_counterfactual(data: SpanData, q: int, stored: Fields) -> Counterfactual:
    """The counterfactual energies a stored cost quarter carries (its power_flow has not
    changed), on the register the quarter's energy uses now."""
    night = night_share(data.flows[q].energy)

    def wh(name: str) -> float:
        return float(stored.get(name) or 0.0) * 1000

    return Counterfactual(
        register_energy(q, wh("import_no_battery_kwh"), wh("export_no_battery_kwh"), night, True),
        register_energy(q, wh("import_no_solar_kwh"), 0.0, night, True),
        True, int(stored.get("profile_points") or 0))
