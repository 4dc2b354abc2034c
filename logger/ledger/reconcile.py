"""The logger against the grid operator: per day and month, how far the ledger's own quarter-hours
are from Fluvius's where both exist, and which quarters differ by more than 1 Wh. Pure.

Both measure the same meter: P1 registers read on the quarter boundaries and Fluvius's quarter
values agree to the Wh, so a difference is worth a look (a clock, a lost reading, a wrong file).
Sums telescope: a register's difference over a day is the difference of the two boundary values,
so boundary rounding never adds up. Stored as `ledger_reconciliation` (docs/schema.md): a point
per day and month with something compared, and one per quarter-hour that differs (a quarter that
no longer differs after a recomputation is written again with zeros, so nothing stale remains).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from logger.core.point import Point
from logger.ledger.energy import GRID
from logger.ledger.fluvius import DIFFER_WH, QuarterDiff
from logger.ledger.periods import DAY, MONTH, QUARTER

MEASUREMENT = "ledger_reconciliation"
DIFF_FIELDS = {group: f"{group}_diff_kwh" for group in GRID}
COUNT_FIELDS = ("compared_quarters", "differing_quarters", "max_diff_wh")
FIELDS = (*DIFF_FIELDS.values(), *COUNT_FIELDS)


@dataclass
class Reconciliation:
    """One period: summed differences (Wh, logger − Fluvius), quarters compared and differing."""

    kind: str
    start: int
    diffs: dict[str, int] = field(default_factory=lambda: dict.fromkeys(GRID, 0))
    compared: int = 0
    differing: list[QuarterDiff] = field(default_factory=list)  # days only
    differing_count: int = 0
    max_diff_wh: int = 0

    def largest_total(self) -> int:
        return max(abs(v) for v in self.diffs.values())


def of_day(start: int, compared: Sequence[QuarterDiff]) -> Reconciliation | None:
    """The day's reconciliation, None when no quarter had both sources."""
    if not compared:
        return None
    rec = Reconciliation(DAY, start)
    for q in compared:
        for group, wh in q.diffs.items():
            rec.diffs[group] += wh
        if q.largest > DIFFER_WH:
            rec.differing.append(q)
        rec.max_diff_wh = max(rec.max_diff_wh, q.largest)
    rec.compared = len(compared)
    rec.differing_count = len(rec.differing)
    return rec


def of_month(start: int, days: Iterable[Reconciliation]) -> Reconciliation | None:
    rec = Reconciliation(MONTH, start)
    for day in days:
        for group, wh in day.diffs.items():
            rec.diffs[group] += wh
        rec.compared += day.compared
        rec.differing_count += day.differing_count
        rec.max_diff_wh = max(rec.max_diff_wh, day.max_diff_wh)
    return rec if rec.compared else None


def _fields(diffs: Mapping[str, int], compared: int, differing: int, largest: int
            ) -> dict[str, float]:
    fields = {DIFF_FIELDS[g]: diffs.get(g, 0) / 1000 for g in GRID}
    fields.update(compared_quarters=compared, differing_quarters=differing, max_diff_wh=largest)
    return fields


def points(rec: Reconciliation, installation: str, stale: Iterable[int] = ()) -> list[Point]:
    """The period's point, for a day also one per differing quarter, and zeros for `stale`
    quarters (stored as differing before, not any more)."""
    tags = {"installation": installation, "period": rec.kind}
    out = [Point.make(MEASUREMENT, tags, _fields(rec.diffs, rec.compared, rec.differing_count,
                                                 rec.max_diff_wh), rec.start)]
    quarter_tags = {"installation": installation, "period": QUARTER}
    differing = {q.start for q in rec.differing}
    for q in rec.differing:
        out.append(Point.make(MEASUREMENT, quarter_tags, _fields(q.diffs, 1, 1, q.largest),
                              q.start))
    for start in sorted(set(stale) - differing):
        out.append(Point.make(MEASUREMENT, quarter_tags, _fields({}, 1, 0, 0), start))
    return [p for p in out if p is not None]


def from_fields(kind: str, start: int, values: Mapping[str, float | None]) -> Reconciliation:
    """A stored day (or month) read back, to sum a month from days."""
    rec = Reconciliation(kind, start)
    for group, name in DIFF_FIELDS.items():
        rec.diffs[group] = round(float(values.get(name) or 0.0) * 1000)
    rec.compared = int(values.get("compared_quarters") or 0)
    rec.differing_count = int(values.get("differing_quarters") or 0)
    rec.max_diff_wh = int(values.get("max_diff_wh") or 0)
    return rec
