"""Belgian local time: the Brussels zone, device time strings, Belgian days.

Everything inside the logger is UTC. Belgian local time appears only where a device or a person
speaks it: the local meter's `YYMMDDhhmmss` (no DSMR S/W flag, so the repeated autumn hour
02:00-03:00 is ambiguous; `MeterClock` resolves it by where the meter's clock should be), the
cloud's per-day history (a Belgian calendar day is 23, 24 or 25 hours long), and dates typed on
the command line. This module is the one place that knows the zone.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

BRUSSELS = ZoneInfo("Europe/Brussels")


def parse_compact(text: str) -> datetime:
    """`YYMMDDhhmmss` as a naive datetime; ValueError on anything else."""
    if not isinstance(text, str) or len(text) != 12 or not text.isdigit():
        raise ValueError(f"not a YYMMDDhhmmss time: {text!r}")
    return datetime.strptime(text, "%y%m%d%H%M%S")


def utc_candidates(local: datetime) -> list[datetime]:
    """Every UTC instant a naive Brussels wall-clock time can mean, earliest first.

    One instant normally; two in the repeated autumn hour. In the skipped spring hour (a time
    a correct clock never shows) zoneinfo also yields two readings; both are offered.
    """
    instants = {local.replace(tzinfo=BRUSSELS, fold=fold).astimezone(UTC) for fold in (0, 1)}
    return sorted(instants)


def is_nonexistent(local: datetime) -> bool:
    """True for a wall-clock time inside the spring-forward gap."""
    aware = local.replace(tzinfo=BRUSSELS)
    return aware.astimezone(UTC).astimezone(BRUSSELS).replace(tzinfo=None) != local


class MeterClock:
    """Resolves a meter's local times to UTC, keeping the meter's time moving forward."""

    def __init__(self, last: datetime | None = None) -> None:
        self.last = last

    def resolve(self, text: str, received_at: datetime, expected: datetime | None = None
                ) -> datetime:
        """The UTC instant of the meter time `text`.

        In the repeated autumn hour a local time means two instants an hour apart. With
        `expected` (where the meter clock should be now: the previous reading plus the
        monotonic time elapsed since, see `logger.core.clock_trust`) the nearer one wins, which
        stays right across a box outage of any length. Without it, the earliest reading after
        the previous one is chosen (a clock that only moves forward), and without a previous
        reading the instant closest to the receive time.
        """
        candidates = utc_candidates(parse_compact(text))
        if len(candidates) == 1:
            return candidates[0]
        if expected is not None:
            return min(candidates, key=lambda c: abs((c - expected).total_seconds()))
        if self.last is not None:
            forward = [c for c in candidates if c > self.last]
            if forward:
                return forward[0]
            return candidates[-1]
        return min(candidates, key=lambda c: abs((c - received_at).total_seconds()))


def brussels_day(epoch: int) -> date:
    """The Belgian calendar day an instant falls on."""
    return datetime.fromtimestamp(epoch, BRUSSELS).date()


def day_bounds(day: date) -> tuple[int, int]:
    """[start, end) of a Belgian calendar day in epoch seconds (23, 24 or 25 hours)."""
    start = datetime(day.year, day.month, day.day, tzinfo=BRUSSELS)
    following = day + timedelta(days=1)
    end = datetime(following.year, following.month, following.day, tzinfo=BRUSSELS)
    return int(start.timestamp()), int(end.timestamp())


def month_start(epoch: int) -> int:
    """Start (local midnight of the 1st, epoch seconds) of the Belgian month an instant is in."""
    return day_bounds(brussels_day(epoch).replace(day=1))[0]


def parse_bound(text: str, end: bool = False) -> datetime:
    """A time a person typed: `YYYY-MM-DD` (a Belgian day: its start, or with `end` the start
    of the next day) or an ISO datetime (without a zone: Belgian local time)."""
    text = text.strip()
    if len(text) == 10:
        day = date.fromisoformat(text) + timedelta(days=1 if end else 0)
        return datetime(day.year, day.month, day.day, tzinfo=BRUSSELS)
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=BRUSSELS)


def local_time(moment: datetime | float) -> str:
    """An instant (a datetime or epoch seconds) as people here read it:
    `2026-11-26 14:00:03 CET`."""
    if not isinstance(moment, datetime):
        moment = datetime.fromtimestamp(moment, UTC)
    return moment.astimezone(BRUSSELS).strftime("%Y-%m-%d %H:%M:%S %Z")
