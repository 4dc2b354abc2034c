"""Fluvius's Belgian local times to UTC, on both DST days.

An export names each interval by its local start and end ("Van"/"Tot"). What public exports
show on the autumn change (the last Sunday of October, 100 quarter-hours): the quarters 02:00,
02:15, 02:30 appear twice, with the same start and end times, and the first pass's last quarter
ends at the wall time after the change: `02:45 -> 02:00`, then `02:45 -> 03:00` for the second
pass. In spring (the last Sunday of March, 92 quarter-hours) the quarters 02:00 - 02:45 do not
exist and are absent; the quarter before the change ends at 03:00 (02:00, a wall time the clock
skips, is read as that same instant).

So each interval is resolved by its length: of the UTC readings its start and end can have, the
pair exactly one interval (900 s, gas 3600 s) apart. Only the three repeated quarters fit twice;
for them the order of the rows decides (the first row of a register at that local time is the
summer-time pass, the second the winter-time one), which is how the file lists them.

Days without a change are plain arithmetic on a cached local midnight (two years of quarter-hours
are half a million times); only the two change days a year go through zoneinfo.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from logger.core.belgian_time import BRUSSELS, day_bounds


class _Day:
    __slots__ = ("day", "midnight", "plain")

    def __init__(self, day: date) -> None:
        self.day = day
        start, end = day_bounds(day)
        self.midnight = start
        self.plain = end - start == 86400 and _offset(start) == _offset(end - 1)


def _offset(t: int) -> float:
    offset = datetime.fromtimestamp(t, BRUSSELS).utcoffset()
    return 0.0 if offset is None else offset.total_seconds()


class LocalTimes:
    """UTC readings of (local day, seconds after local midnight), days cached."""

    def __init__(self) -> None:
        self._days: dict[date, _Day] = {}

    def _day(self, day: date) -> _Day:
        found = self._days.get(day)
        if found is None:
            found = self._days[day] = _Day(day)
        return found

    def candidates(self, day: date, seconds: int, is_end: bool) -> tuple[int, ...]:
        """Every UTC instant the wall time can mean: one, two in the repeated autumn hour, none
        in the skipped spring hour (except, for an interval's end, the very start of the skip:
        02:00 is the instant 01:59:59 + 1 s)."""
        if seconds >= 86400:
            return self.candidates(day + timedelta(days=1), seconds - 86400, is_end)
        info = self._day(day)
        if info.plain:
            return (info.midnight + seconds,)
        h, rest = divmod(seconds, 3600)
        local = datetime(day.year, day.month, day.day, h, rest // 60, rest % 60)
        found = sorted({int(local.replace(tzinfo=BRUSSELS, fold=fold).timestamp())
                        for fold in (0, 1)})
        exists = [t for t in found if _wall(t) == local]
        if exists:
            return tuple(exists)
        if is_end and _wall(found[-1] - 1) == local - timedelta(seconds=1):
            return (found[-1],)
        return ()


def _wall(t: int) -> datetime:
    return datetime.fromtimestamp(t, UTC).astimezone(BRUSSELS).replace(tzinfo=None)


class Intervals:
    """Resolves the rows of one file, remembering which repeated local starts it has seen."""

    def __init__(self) -> None:
        self.times = LocalTimes()
        self._seen: dict[tuple[str, date, int], int] = {}

    def resolve(self, stream: str, start_day: date, start_s: int, end_day: date, end_s: int,
                length: int) -> tuple[int, int]:
        """(start, end) in UTC seconds; ValueError with the reason when no reading fits.

        `stream`: the register and unit, whose rows are in time order on their own."""
        starts = self.times.candidates(start_day, start_s, is_end=False)
        if not starts:
            raise ValueError("the local start time does not exist (the spring DST change "
                             "skips 02:00-03:00)")
        ends = self.times.candidates(end_day, end_s, is_end=True)
        fits = [(a, b) for a in starts for b in ends if b - a == length]
        if len(fits) == 1:
            return fits[0]
        if not fits:
            spans = sorted({b - a for a in starts for b in ends})
            shown = ", ".join(f"{s / 60:g} min" for s in spans) or "none"
            raise ValueError(f"the interval is {shown} long, not {length // 60} min")
        key = (stream, start_day, start_s)
        seen = self._seen.get(key, 0)
        if seen >= len(fits):
            raise ValueError(f"a {seen + 1}th interval at the same local start time")
        self._seen[key] = seen + 1
        return fits[seen]
