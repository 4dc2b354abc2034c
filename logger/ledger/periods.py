"""The ledger's periods: quarter-hours, hours, Belgian days and Belgian months.

Every period is [start, end) in epoch seconds and is identified by its start. Quarter-hours and
hours are the same in UTC and in Belgian time (Belgian offsets are whole hours), so they are plain
multiples of 900 / 3600 s; days and months start at Belgian local midnight and last 23 to 25 hours
on DST changes (`logger.core.belgian_time` knows the zone).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from logger.core.belgian_time import BRUSSELS, brussels_day, day_bounds

QUARTER = "15m"
HOUR = "1h"
DAY = "1d"
MONTH = "1mo"
KINDS = (QUARTER, HOUR, DAY, MONTH)

QUARTER_S = 900
HOUR_S = 3600


def quarter_floor(t: int) -> int:
    return t - t % QUARTER_S


def month_start(day: date) -> date:
    return day.replace(day=1)


def next_month(day: date) -> date:
    first = day.replace(day=1)
    return (first + timedelta(days=32)).replace(day=1)


def month_bounds(day: date) -> tuple[int, int]:
    """[start, end) of the Belgian month containing `day`, in epoch seconds."""
    first = month_start(day)
    return day_bounds(first)[0], day_bounds(next_month(first))[0]


def month_of(t: int) -> date:
    """The first day of the Belgian month an instant falls in."""
    return month_start(brussels_day(t))


def days_between(start: int, end: int) -> list[date]:
    """Every Belgian day that overlaps [start, end), in order."""
    if end <= start:
        return []
    first, last = brussels_day(start), brussels_day(end - 1)
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def quarter_starts(start: int, end: int) -> list[int]:
    """Starts of the quarter-hours inside [start, end) (start and end on quarter boundaries)."""
    return list(range(start, end, QUARTER_S))


def local_label(t: int, kind: str) -> str:
    """How a person names a period: `2026-03-29 02:00`, `2026-03-29`, `2026-03`."""
    local = datetime.fromtimestamp(t, BRUSSELS)
    if kind == MONTH:
        return local.strftime("%Y-%m")
    if kind == DAY:
        return local.strftime("%Y-%m-%d")
    return local.strftime("%Y-%m-%d %H:%M %Z")
