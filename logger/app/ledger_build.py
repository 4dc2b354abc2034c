"""Computing ledger days and months and handing their points on: one implementation for the
`ledger` command (a range of history) and the service's job (the days late data touched).

A day is read and computed on its own (`ledger_inputs.read_span`, then `logger.ledger`), so memory
stays that of one day whatever the range. A month is the sum of its days: those computed in this
run, and for the others what the ledger already holds. The capacity-tariff record of a month needs
the 11 months before it (the rolling mean): from this run, else from the ledger.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from logger.app.ledger_fluvius import Reconciler, read_fluvius
from logger.app.ledger_inputs import read_span
from logger.config import Settings
from logger.core.belgian_time import brussels_day, day_bounds
from logger.core.logs import get_logger
from logger.core.point import Point
from logger.core.problems import Problems
from logger.ledger.counters import Break
from logger.ledger.energy import PeriodRow, combine_month, compute_span, day_rows
from logger.ledger.fluvius import merge
from logger.ledger.periods import DAY, MONTH, local_label, month_bounds, month_start
from logger.ledger.points import DEVICE, ENERGY, PEAK, day_from_fields, peak_point, row_points
from logger.ledger.tariff import MonthPeak, month_peak
from logger.outbox import keys
from logger.sink.ledger_reads import LedgerReads

log = get_logger(__name__)

RESET_PROBLEM = keys.LEDGER_COUNTER_RESET
PEAK_PROBLEM = keys.LEDGER_PEAK_MISMATCHES
DAY_FIELDS = (
    "import_t1_kwh", "import_t2_kwh", "export_t1_kwh", "export_t2_kwh", "solar_kwh",
    "battery_charged_kwh", "battery_discharged_kwh", "car_kwh", "gas_m3", "water_m3",
    "peak_demand_w", "peak_start_s", "estimated", "coverage_pct", "readings", "resets",
    "profile_points", "gas_kwh", "fluvius_pct",
)
DEVICE_FIELDS = ("energy_kwh", "charged_kwh", "discharged_kwh", "estimated", "coverage_pct")

Emit = Callable[[list[Point]], None]
Note = Callable[[str, str], None]


@dataclass
class BuildReport:
    days: int = 0
    months: int = 0
    points: int = 0
    estimated_days: int = 0
    resets: int = 0
    newest_end: int | None = None  # end of the newest complete period computed (ledger lag)
    peaks: list[MonthPeak] = field(default_factory=list)
    rows: list[PeriodRow] = field(default_factory=list)  # kept only when asked (tests, report)


class LedgerBuilder:
    """Computes days and months; `emit` receives their points (the outbox, or a dry run)."""

    def __init__(self, settings: Settings, reads: LedgerReads, emit: Emit, problems: Problems,
                 note: Note | None = None, keep_rows: bool = False) -> None:
        self.settings = settings
        self.reads = reads
        self.emit = emit
        self.problems = problems
        self.note = note or (lambda key, value: None)
        self.keep_rows = keep_rows
        self.installation = settings.installation
        self._days: dict[int, PeriodRow] = {}  # this run's complete days, by start
        self._billed: dict[int, float] = {}  # this run's months: start -> billed W
        self._reported: set[tuple[int, int, str]] = set()
        self.reconciler = Reconciler(settings, reads, problems, self.note)

    def clear(self) -> None:
        """Forget this run's days and months (the resets already reported stay reported)."""
        self._days.clear()
        self._billed.clear()
        self.reconciler.clear()

    def _out(self, points: list[Point], report: BuildReport) -> None:
        if points:
            self.emit(points)
            report.points += len(points)

    async def day(self, day: date, report: BuildReport, since: int | None = None,
                  until: int | None = None) -> PeriodRow | None:
        """Compute one Belgian day; its quarters and hours are emitted (as far as readings
        reach), the day itself only when it is complete. Returns the day row, if any.

        `since` (an hour boundary inside the day): only from there on, for the running day,
        whose earlier hours an earlier update wrote and late data has not changed."""
        start, end = day_bounds(day)
        first = start if since is None or not start < since < end else since
        inputs = await read_span(self.reads, self.settings.ledger, first, end, until)
        fluvius = await read_fluvius(self.reads, self.settings, first, end)
        if not inputs.channels and fluvius is None:
            return None
        quarters: list[PeriodRow] = []
        hours: list[PeriodRow] = []
        days: list[PeriodRow] = []
        gas_gaps: list[tuple[int, int]] = []
        if inputs.channels:
            # CPU-bound: off the event loop, so the P1 reader and the polls keep their pace.
            span = await asyncio.to_thread(compute_span, inputs.channels, first, end)
            for channel, tr in span.tracks:
                gas_gaps += tr.gaps if channel.group == "gas" else []
                for br in tr.breaks:
                    self._reset(channel.group, br, report)
            quarters, hours, days = day_rows(span, start, end, first if first != start else None)
        points: list[Point] = []
        if fluvius is not None:  # the grid operator's quarter-hours (logger/ledger/fluvius.py)
            self.reconciler.several_eans(fluvius, start)
            merged = merge(quarters, hours, days, fluvius, start, end, first, gas_gaps)
            quarters, hours, days = merged.quarters, merged.hours, merged.days
            points += await self.reconciler.day_points(start, end, merged.compared)
        for row in (*quarters, *hours, *days):
            report.newest_end = max(report.newest_end or row.end, row.end)
            row.profile_points = sum(n for q, n in inputs.cloud_points.items()
                                     if row.start <= q < row.end)
            points += row_points(row, self.installation)
            if self.keep_rows:
                report.rows.append(row)
        self._out(points, report)
        report.days += 1
        if days:
            self._days[start] = days[0]
            report.estimated_days += days[0].estimated
            return days[0]
        return None

    def _reset(self, group: str, br: Break, report: BuildReport) -> None:
        key = (br.t0, br.t1, group)
        if key in self._reported:
            return
        self._reported.add(key)
        report.resets += 1
        self.problems.report(
            RESET_PROBLEM, "ledger: %s counter break between %s and %s (%s: %d -> %d units); "
            "that interval counts 0 energy and its periods are estimated", group,
            local_label(br.t0, "s"), local_label(br.t1, "s"), br.reason, br.before, br.after)
        self.note(keys.LEDGER_LAST_RESET,
                  f"{local_label(br.t1, 's')}: {group} {br.reason}")

    async def _stored_days(self, start: int, end: int) -> dict[int, PeriodRow]:
        tags = {"period": DAY}
        rows = await self.reads.ledger_rows(ENERGY, DAY_FIELDS, start, end, tags)
        devices = await self.reads.ledger_rows(DEVICE, DEVICE_FIELDS, start, end, tags,
                                               ("kind", "device_id", "localid"))
        per_day: dict[int, dict[tuple[str, str, str], dict[str, float | None]]] = {}
        for r in devices:
            dev = tuple(v for _, v in r.tags)
            per_day.setdefault(r.time, {})[dev] = dict(zip(DEVICE_FIELDS, r.values, strict=True))
        out = {}
        for r in rows:
            bounds = day_bounds(brussels_day(r.time + 43200))  # noon is safely that day
            out[r.time] = day_from_fields(r.time, bounds[1],
                                          dict(zip(DAY_FIELDS, r.values, strict=True)),
                                          per_day.get(r.time, {}))
        return out

    async def month(self, first: date, report: BuildReport) -> MonthPeak | None:
        """Assemble a month from its days and write its energy and capacity-tariff points."""
        start, end = month_bounds(first)
        days = await self._stored_days(start, end)
        days.update({s: d for s, d in self._days.items() if start <= s < end})
        if not days:
            return None
        row = combine_month([days[s] for s in sorted(days)], start, end)
        points = row_points(row, self.installation)
        if self.keep_rows:
            report.rows.append(row)
        earlier = await self._earlier_billed(first)
        meter = await self._meter_peak(start, end)
        peak = month_peak(start, row.peak_w or 0.0, row.peak_start, earlier, meter,
                          row.estimated)
        self._billed[start] = peak.billed_w
        point = peak_point(peak, self.installation)
        if point is not None:
            points.append(point)
        points += await self.reconciler.month_points(start, end)
        self._out(points, report)
        report.months += 1
        report.peaks.append(peak)
        if peak.disagrees:
            text = (f"{local_label(start, MONTH)}: ledger peak {peak.peak_w:.0f} W, meter "
                    f"{peak.meter_peak_w:.0f} W (difference {peak.meter_diff_w:+.0f} W)")
            self.problems.report(PEAK_PROBLEM, "ledger: capacity peak disagrees with the "
                                 "meter's own register beyond its resolution: %s", text)
            self.note(keys.LEDGER_PEAK_MISMATCH, text)
        return peak

    async def _earlier_billed(self, first: date) -> dict[int, float]:
        oldest = first
        for _ in range(11):
            oldest = month_start(date.fromordinal(oldest.toordinal() - 1))
        lo, hi = month_bounds(oldest)[0], month_bounds(first)[0]
        rows = await self.reads.ledger_rows(PEAK, ("billed_w",), lo, hi, {})
        billed = {r.time: float(r.values[0]) for r in rows if r.values[0] is not None}
        billed.update({s: w for s, w in self._billed.items() if lo <= s < hi})
        return dict(sorted(billed.items(), reverse=True))

    async def _meter_peak(self, start: int, end: int) -> tuple[float, int | None] | None:
        """The meter's own peak of the month: `p1_peak`, else the last `captar_month_max_w`."""
        best: tuple[float, int | None] | None = None
        async for page in self.reads.rows("p1_peak", ("demand_w", "occurred_s"), start,
                                          start + 1):
            for r in page:
                w, at = r.values
                if isinstance(w, int | float) and (best is None or w > best[0]):
                    best = (float(w), int(at) if isinstance(at, int | float) else None)
        if best is not None:
            return best
        for measurement in ("p1", "meter"):
            rows = await self.reads.nearest(measurement, ["captar_month_max_w"], end, True,
                                            horizons=(end - start,))
            values = [r.values[0] for r in rows if isinstance(r.values[0], int | float)]
            if values:
                return float(max(values)), None
        return None

    async def run(self, days: list[date], progress: Callable[[int, int, date, int], None]
                  | None = None, partial: dict[date, int] | None = None,
                  until: int | None = None) -> BuildReport:
        """Compute `days` (in order; those in `partial` only from the given hour on; nothing
        read at or after `until`), then every month in which a day was completed."""
        report = BuildReport()
        pending: date | None = None  # the month whose days this run completed
        for i, day in enumerate(days):
            row = await self.day(day, report, (partial or {}).get(day), until)
            first = month_start(day)
            if pending is not None and pending != first:
                await self.month(pending, report)
                self._forget(pending)  # finished: free its days
                pending = None
            if row is not None:
                pending = first
            if progress is not None:
                progress(i + 1, len(days), day, report.points)
        if pending is not None:
            await self.month(pending, report)
        return report

    def _forget(self, first: date) -> None:
        start, end = month_bounds(first)
        for s in [s for s in self._days if start <= s < end]:
            del self._days[s]
