"""What a set of imported files holds, counted once per interval however the files overlap.

Overlapping exports (this year's and last year's, downloaded twice) write the same identities,
and InfluxDB keeps the last write; the summary must count what InfluxDB will hold, not the sum of
the files. Each (register, unit) keeps one slot per quarter-hour in small per-day arrays (two
years of four registers: ~2 MB), the last reading winning as in InfluxDB.
"""

from __future__ import annotations

from array import array
from collections import Counter
from dataclasses import dataclass
from datetime import date

from logger.core import fluvius_schema as schema
from logger.core.belgian_time import brussels_day, day_bounds
from logger.sources.fluvius.fields import ELECTRICITY
from logger.sources.fluvius.parse import Reading

SLOTS = 96  # quarter-hours of a UTC day
NONE = -1  # a slot without a value (absent, or status missing)
ABSENT = 255  # a slot without a reading


@dataclass(frozen=True)
class Totals:
    """One (register, unit): intervals present, their sum in thousandths, statuses."""

    register: str
    unit: str
    intervals: int
    units: int
    statuses: Counter[str]


class Tally:
    """Distinct intervals per (register, unit); `add` each reading in file order."""

    def __init__(self) -> None:
        self._values: dict[tuple[str, str], dict[int, array]] = {}
        self._status: dict[tuple[str, str], dict[int, bytearray]] = {}
        self.kinds: dict[tuple[str, str], str] = {}
        self._first: int | None = None
        self._last_end: int | None = None

    def add(self, reading: Reading) -> None:
        key = (reading.register, reading.unit)
        day, slot = divmod(reading.start, 86400)
        slot //= 900
        values = self._values.setdefault(key, {})
        if day not in values:
            values[day] = array("q", [NONE]) * SLOTS
            self._status.setdefault(key, {})[day] = bytearray([ABSENT]) * SLOTS
            self.kinds[key] = reading.kind
        values[day][slot] = NONE if reading.value is None else reading.value
        self._status[key][day][slot] = reading.status
        if self._first is None or reading.start < self._first:
            self._first = reading.start
        if self._last_end is None or reading.end > self._last_end:
            self._last_end = reading.end

    def totals(self) -> list[Totals]:
        out = []
        for key in sorted(self._values):
            statuses: Counter[str] = Counter()
            units = intervals = 0
            for day, slots in self._status[key].items():
                values = self._values[key][day]
                for slot, status in enumerate(slots):
                    if status == ABSENT:
                        continue
                    intervals += 1
                    statuses[schema.STATUS_NAMES[status]] += 1
                    if values[slot] != NONE:
                        units += values[slot]
            out.append(Totals(key[0], key[1], intervals, units, statuses))
        return out

    def span(self) -> tuple[int, int] | None:
        """[first start, last end) over everything (UTC seconds)."""
        if self._first is None or self._last_end is None:
            return None
        return self._first, self._last_end

    def electricity_days(self) -> dict[date, tuple[int, int]]:
        """Belgian day -> (quarter-hours present, quarter-hours the day has): 96, and 92 / 100
        on the DST days. Present = any electricity register has a reading."""
        keys = [key for key, kind in self.kinds.items() if kind == ELECTRICITY]
        counts: Counter[date] = Counter()
        for day in sorted({d for key in keys for d in self._status[key]}):
            present = [self._status[key].get(day) for key in keys]
            for slot in range(SLOTS):
                if any(p is not None and p[slot] != ABSENT for p in present):
                    counts[brussels_day(day * 86400 + slot * 900)] += 1
        out = {}
        for day, count in sorted(counts.items()):
            start, end = day_bounds(day)
            out[day] = (count, (end - start) // 900)
        return out
