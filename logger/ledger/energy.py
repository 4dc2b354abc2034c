"""Energy per period from counter tracks: quarter-hours, hours and days of a span, months from
days. Pure.

A span is a run of whole Belgian days. Every counter is tracked once over the span's quarter
boundaries (`counters.track`); a period's energy is then the difference of its two boundary
values, so an hour is exactly the sum of its quarters and a day of its hours.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from logger.ledger.counters import Profile, Readings, Track, track
from logger.ledger.periods import DAY, HOUR, MONTH, QUARTER, QUARTER_S

GRID = ("import_t1", "import_t2", "export_t1", "export_t2")
DEVICE_GROUPS = ("solar", "battery_charged", "battery_discharged", "car")
VOLUME = ("gas", "water")  # hour and longer periods only (captured every 5 minutes)

# Device: (kind, device_id, localid) with kind in solar / battery / car.
Device = tuple[str, str, str]


@dataclass
class Channel:
    """One counter to follow: what it adds to (`group`), whose it is, its readings and limits."""

    group: str
    readings: Readings
    max_units_per_s: float
    gap_s: float
    device: Device | None = None
    profile: Profile | None = None


@dataclass
class PeriodRow:
    """One period's result, in whole units (Wh, l); see docs/schema.md for the fields."""

    kind: str
    start: int
    end: int
    energy: dict[str, int] = field(default_factory=dict)
    devices: dict[Device, dict[str, int]] = field(default_factory=dict)
    device_estimated: dict[Device, bool] = field(default_factory=dict)
    device_coverage: dict[Device, float] = field(default_factory=dict)
    estimated: bool = False
    coverage_pct: float = 100.0
    readings: int = 0
    resets: int = 0
    profile_points: int = 0
    peak_w: float | None = None
    peak_start: int | None = None
    days: int = 0
    fluvius_pct: float = 0.0  # share of the period's quarters taken from Fluvius (ledger.fluvius)

    @property
    def demand_w(self) -> float:
        """Average offtake demand: import Wh over the period, as W (x 4 for a quarter)."""
        imported = self.energy.get("import_t1", 0) + self.energy.get("import_t2", 0)
        return imported * 3600 / (self.end - self.start)


@dataclass
class SpanResult:
    boundaries: list[int]
    tracks: list[tuple[Channel, Track]]
    grid_times: Sequence[int]

    def rows(self, kind: str, starts: Iterable[int], ends: Iterable[int]) -> list[PeriodRow]:
        out = []
        for start, end in zip(starts, ends, strict=True):
            row = self.period(kind, start, end)
            if row is not None:
                out.append(row)
        return out

    def period(self, kind: str, start: int, end: int) -> PeriodRow | None:
        """The period [start, end) on the span's boundaries; None without grid readings
        around both ends."""
        i = bisect.bisect_left(self.boundaries, start)
        j = bisect.bisect_left(self.boundaries, end)
        row = PeriodRow(kind, start, end)
        grid_seen = False
        gaps: list[tuple[int, int]] = []
        for channel, tr in self.tracks:
            if kind == QUARTER and channel.group in VOLUME:
                continue
            a, b = tr.values[i], tr.values[j]
            if a is None or b is None:
                if channel.group in GRID:
                    return None
                continue
            units = b - a
            resets = sum(1 for br in tr.breaks if br.t0 < end and br.t1 > start)
            estimated = not (tr.exact[i] and tr.exact[j]) or resets > 0
            row.energy[channel.group] = row.energy.get(channel.group, 0) + units
            if channel.group in GRID:
                row.estimated |= estimated
                if not grid_seen:
                    grid_seen = True
                    gaps = tr.gaps
                    row.resets = resets
            if channel.device is not None:
                per = row.devices.setdefault(channel.device, {})
                per[channel.group] = per.get(channel.group, 0) + units
                dev = channel.device
                row.device_estimated[dev] = row.device_estimated.get(dev, False) or estimated
                row.device_coverage[dev] = min(
                    row.device_coverage.get(dev, 100.0), coverage(tr.gaps, start, end)
                )
        if not grid_seen:
            return None
        row.coverage_pct = coverage(gaps, start, end)
        lo = bisect.bisect_left(self.grid_times, start)
        row.readings = bisect.bisect_left(self.grid_times, end) - lo
        return row


def coverage(gaps: Sequence[tuple[int, int]], start: int, end: int) -> float:
    """Percent of [start, end) that lies outside the gaps."""
    inside = sum(max(0, min(end, t1) - max(start, t0)) for t0, t1 in gaps)
    return round(100.0 * (1 - inside / (end - start)), 3)


def compute_span(channels: Sequence[Channel], start: int, end: int) -> SpanResult:
    """Track every channel over the quarter boundaries of [start, end] (whole days)."""
    boundaries = list(range(start, end + 1, QUARTER_S))
    tracks = [
        (ch, track(ch.readings, boundaries, ch.max_units_per_s, ch.gap_s, ch.profile))
        for ch in channels
    ]
    grid_times: Sequence[int] = ()
    for ch in channels:
        if ch.group in GRID:
            grid_times = ch.readings.times
            break
    return SpanResult(boundaries, tracks, grid_times)


def day_rows(span: SpanResult, day_start: int, day_end: int, since: int | None = None
             ) -> tuple[list[PeriodRow], ...]:
    """(quarters, hours, [day]) of one Belgian day of the span; the day carries its peak.

    `since` (an hour boundary, the span's start): only the quarters and hours from there on,
    and no day row (the running day, updated incrementally)."""
    first = day_start if since is None else since
    quarters = span.rows(QUARTER, range(first, day_end, QUARTER_S),
                         range(first + QUARTER_S, day_end + 1, QUARTER_S))
    hours = span.rows(HOUR, range(first, day_end, 3600),
                      range(first + 3600, day_end + 1, 3600))
    day = span.period(DAY, day_start, day_end) if first == day_start else None
    days = []
    if day is not None and len(quarters) == (day_end - day_start) // QUARTER_S:
        best = max(quarters, key=lambda q: (q.demand_w, -q.start))
        day.peak_w, day.peak_start, day.days = best.demand_w, best.start, 1
        days.append(day)
    return quarters, hours, days


def combine_month(days: Sequence[PeriodRow], start: int, end: int) -> PeriodRow:
    """A month from its days: sums, the highest quarter, and estimated when any day is."""
    row = PeriodRow(MONTH, start, end)
    covered = from_fluvius = 0.0
    for day in days:
        for group, units in day.energy.items():
            row.energy[group] = row.energy.get(group, 0) + units
        for dev, per in day.devices.items():
            mine = row.devices.setdefault(dev, {})
            for group, units in per.items():
                mine[group] = mine.get(group, 0) + units
            row.device_estimated[dev] = (
                row.device_estimated.get(dev, False) or day.device_estimated.get(dev, False)
            )
            row.device_coverage[dev] = min(
                row.device_coverage.get(dev, 100.0), day.device_coverage.get(dev, 100.0)
            )
        row.estimated |= day.estimated
        row.readings += day.readings
        row.resets += day.resets
        row.profile_points += day.profile_points
        covered += day.coverage_pct * (day.end - day.start)
        from_fluvius += day.fluvius_pct * (day.end - day.start)
        if day.peak_w is not None and (row.peak_w is None or day.peak_w > row.peak_w):
            row.peak_w, row.peak_start = day.peak_w, day.peak_start
    row.days = len(days)
    length = sum(day.end - day.start for day in days)  # a running month: the days so far
    row.coverage_pct = round(covered / length, 3) if length else 0.0
    row.fluvius_pct = round(from_fluvius / length, 3) if length else 0.0
    return row
