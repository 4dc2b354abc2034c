"""Belgian local time from device strings, to UTC.

The local meter API gives `YYMMDDhhmmss` in Brussels time without the DSMR S/W flag, so the
repeated autumn hour (02:00-03:00 happens twice) is ambiguous. `MeterClock` resolves it the way
the meter's clock runs: forward. Everything inside the logger is UTC; this module is the only place
Belgian local time is interpreted for the local API.
"""

from __future__ import annotations

from datetime import UTC, datetime
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

    def resolve(self, text: str, received_at: datetime) -> datetime:
        """The UTC instant of the meter time `text`.

        In the repeated hour the earliest reading after the previous one is chosen, which is
        what a clock that only moves forward implies. Without a previous reading the instant
        closest to the receive time wins (the meter's clock is close to real time).
        """
        candidates = utc_candidates(parse_compact(text))
        if len(candidates) == 1:
            return candidates[0]
        if self.last is not None:
            forward = [c for c in candidates if c > self.last]
            if forward:
                return forward[0]
            return candidates[-1]
        return min(candidates, key=lambda c: abs((c - received_at).total_seconds()))
