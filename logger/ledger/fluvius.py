"""The grid operator's quarter-hours in the ledger: where the logger has no readings of its own,
and as a second witness where it has. Pure.

Per quarter-hour of a day:

- the logger's own value when it has one: both boundary values exact, or no gap of its readings
  inside the quarter (a local meter interpolates every boundary, yet reads every few seconds),
  and no counter reset. Where Fluvius has the quarter too, the two are compared
  (`ledger.reconcile`);
- else Fluvius's, when the export has the quarter with a value for offtake and for injection
  (a register the file does not list in that quarter, the other tariff's, counts 0): exact to
  the Wh of the file, `estimated` when Fluvius says so, `fluvius_pct` = 100;
- else the logger's interpolated value, as without Fluvius.

Hours and days are then the sums of their quarters (a day only when all its quarters exist), so
a day filled from Fluvius has its peak quarter, and a month of such days its capacity-tariff
peak, from the first month on. Devices, water and the logger's own gas stay the logger's. Gas:
Fluvius's hourly m³ in the hours the logger has no gas reading of its own (none, or a gap of its
M-Bus readings), and its kWh (`gas_kwh`) wherever the export gives them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from logger.core import fluvius_schema as schema
from logger.ledger.energy import GRID, PeriodRow
from logger.ledger.periods import DAY, HOUR, HOUR_S, QUARTER, QUARTER_S

IMPORTS = (schema.IMPORT_T1, schema.IMPORT_T2)
EXPORTS = (schema.EXPORT_T1, schema.EXPORT_T2)
DIFFER_WH = 1  # a quarter differs when a register is more than this apart (1 Wh resolution)


@dataclass
class FluviusQuarter:
    """One quarter-hour of the export: Wh per register listed, and what its statuses say."""

    energy: dict[str, int] = field(default_factory=dict)
    estimated: bool = False
    missing: bool = False

    @property
    def usable(self) -> bool:
        return (not self.missing and any(g in self.energy for g in IMPORTS)
                and any(g in self.energy for g in EXPORTS))


@dataclass
class FluviusHour:
    """One gas hour: litres and Wh, when the export has them with a value."""

    litres: int | None = None
    wh: int | None = None


@dataclass
class FluviusSpan:
    quarters: dict[int, FluviusQuarter] = field(default_factory=dict)
    gas: dict[int, FluviusHour] = field(default_factory=dict)
    several_eans: list[str] = field(default_factory=list)  # electricity EANs seen, when > 1


def _number(value: object) -> int | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return round(value * 1000)
    return None


def _status(value: object) -> int:
    return int(value) if isinstance(value, int | float) else schema.MISSING


def span_from_rows(rows: Iterable[tuple[str, str, int, object, object, object, object]]
                   ) -> FluviusSpan:
    """(ean, register, start, energy_kwh, energy_status, volume_m3, volume_status) rows.

    One installation has one electricity connection: when rows of several EANs are present
    (imported with `--meter`), the one with the most quarters is used and the others named."""
    electricity: dict[str, list[tuple[str, int, object, object]]] = {}
    span = FluviusSpan()
    for ean, register, start, energy, status, volume, volume_status in rows:
        if register == schema.GAS:
            hour = span.gas.setdefault(start, FluviusHour())
            if _status(volume_status) != schema.MISSING:
                hour.litres = _number(volume)
            if _status(status) != schema.MISSING:
                hour.wh = _number(energy)
        elif register in schema.ELECTRICITY:
            electricity.setdefault(ean, []).append((register, start, energy, status))
    if len(electricity) > 1:
        span.several_eans = sorted(electricity)
    if not electricity:
        return span
    chosen = max(sorted(electricity), key=lambda e: len(electricity[e]))
    for register, start, energy, status in electricity[chosen]:
        quarter = span.quarters.setdefault(start, FluviusQuarter())
        code, wh = _status(status), _number(energy)
        if code == schema.MISSING or wh is None:
            quarter.missing = True
            continue
        quarter.energy[register] = wh
        quarter.estimated |= code == schema.ESTIMATED
    return span


def own(quarter: PeriodRow | None) -> bool:
    """Is this the logger's own value (see the module docstring)?"""
    return quarter is not None and quarter.resets == 0 and (
        not quarter.estimated or quarter.coverage_pct >= 100.0)


def from_fluvius(start: int, fq: FluviusQuarter, logger: PeriodRow | None) -> PeriodRow:
    """A quarter whose electricity is Fluvius's; the logger's devices kept where it has them."""
    row = PeriodRow(QUARTER, start, start + QUARTER_S)
    if logger is not None:
        row.energy = {g: u for g, u in logger.energy.items() if g not in GRID}
        row.devices = dict(logger.devices)
        row.device_estimated = dict(logger.device_estimated)
        row.device_coverage = dict(logger.device_coverage)
        row.coverage_pct, row.readings, row.resets = (logger.coverage_pct, logger.readings,
                                                      logger.resets)
    else:
        row.coverage_pct = 0.0
    for group in GRID:
        row.energy[group] = fq.energy.get(group, 0)
    row.estimated = fq.estimated
    row.fluvius_pct = 100.0
    return row


def combine(kind: str, start: int, end: int, parts: Sequence[PeriodRow],
            base: PeriodRow | None) -> PeriodRow:
    """A period as the sum of its quarters' electricity; everything else from the logger's own
    row of the period (`base`) when it has one."""
    row = PeriodRow(kind, start, end)
    if base is not None:
        row.energy = {g: u for g, u in base.energy.items() if g not in GRID}
        row.devices = dict(base.devices)
        row.device_estimated = dict(base.device_estimated)
        row.device_coverage = dict(base.device_coverage)
    for group in GRID:
        row.energy[group] = sum(p.energy.get(group, 0) for p in parts)
    row.estimated = any(p.estimated for p in parts)
    row.coverage_pct = round(sum(p.coverage_pct for p in parts) / len(parts), 3)
    row.fluvius_pct = round(sum(p.fluvius_pct for p in parts) / len(parts), 3)
    row.readings = base.readings if base is not None else sum(p.readings for p in parts)
    row.resets = base.resets if base is not None else sum(p.resets for p in parts)
    return row


@dataclass
class QuarterDiff:
    """Logger minus Fluvius in one quarter both have, per register (Wh)."""

    start: int
    diffs: dict[str, int]

    @property
    def largest(self) -> int:
        return max((abs(v) for v in self.diffs.values()), default=0)


@dataclass
class Merged:
    quarters: list[PeriodRow]
    hours: list[PeriodRow]
    days: list[PeriodRow]
    compared: list[QuarterDiff]  # complete days only (the running day is compared later)


def _overlaps(gaps: Sequence[tuple[int, int]], start: int, end: int) -> bool:
    return any(t0 < end and t1 > start for t0, t1 in gaps)


def _gas(row: PeriodRow, hour: FluviusHour | None, logger_gaps: Sequence[tuple[int, int]]
         ) -> None:
    if hour is None:
        return
    if hour.litres is not None and ("gas" not in row.energy
                                    or _overlaps(logger_gaps, row.start, row.end)):
        row.energy["gas"] = hour.litres
    if hour.wh is not None:
        row.energy["gas_kwh"] = hour.wh


def _peak(day: PeriodRow, quarters: Sequence[PeriodRow]) -> None:
    best = max(quarters, key=lambda q: (q.demand_w, -q.start))
    day.peak_w, day.peak_start, day.days = best.demand_w, best.start, 1


def merge(quarters: Sequence[PeriodRow], hours: Sequence[PeriodRow], days: Sequence[PeriodRow],
          fl: FluviusSpan, day_start: int, day_end: int, first: int,
          gas_gaps: Sequence[tuple[int, int]] = ()) -> Merged:
    """The day's periods from [first, day_end) with Fluvius merged in (module docstring).
    `quarters`, `hours`, `days`: the logger's (`energy.day_rows`); `gas_gaps`: the gaps of the
    logger's gas readings."""
    logger_q = {q.start: q for q in quarters}
    out_q: list[PeriodRow] = []
    compared: list[QuarterDiff] = []
    for start in range(first, day_end, QUARTER_S):
        lq, fq = logger_q.get(start), fl.quarters.get(start)
        usable = fq is not None and fq.usable
        if own(lq):
            assert lq is not None
            out_q.append(lq)
            if usable:
                assert fq is not None
                compared.append(QuarterDiff(start, {g: lq.energy.get(g, 0) - fq.energy.get(g, 0)
                                                    for g in GRID}))
        elif usable:
            assert fq is not None
            out_q.append(from_fluvius(start, fq, lq))
        elif lq is not None:
            out_q.append(lq)
    by_start = {q.start: q for q in out_q}
    logger_h = {h.start: h for h in hours}
    out_h: list[PeriodRow] = []
    for start in range(first, day_end, HOUR_S):
        parts = [by_start.get(start + k * QUARTER_S) for k in range(HOUR_S // QUARTER_S)]
        base = logger_h.get(start)
        row: PeriodRow | None = base
        if any(p is not None and p.fluvius_pct for p in parts):
            row = (combine(HOUR, start, start + HOUR_S, [p for p in parts if p], base)
                   if all(parts) else None)
        if row is not None:
            _gas(row, fl.gas.get(start), gas_gaps)
            out_h.append(row)
    out_d: list[PeriodRow] = []
    if first == day_start and len(out_q) == (day_end - day_start) // QUARTER_S:
        base = days[0] if days else None
        day = base
        if base is None or any(q.fluvius_pct for q in out_q):
            day = combine(DAY, day_start, day_end, out_q, base)
            _peak(day, out_q)
        assert day is not None
        for group in ("gas", "gas_kwh"):
            if out_h and len(out_h) == (day_end - day_start) // HOUR_S and all(
                    group in h.energy for h in out_h):
                day.energy[group] = sum(h.energy[group] for h in out_h)
        out_d.append(day)
    else:
        compared = []
    return Merged(out_q, out_h, out_d, compared)
