"""Simulated wall clock.

The simulator runs on its own clock so that a demo can replay a winter night in a few seconds,
a test can start exactly one minute before the autumn DST change, and a benchmark can run many
simulated hours per real minute. Simulated time is derived from the monotonic clock (never from
the system wall clock) so that NTP steps on the host cannot make simulated time go backwards.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta


def _require_aware(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"simulated time must be timezone-aware, got naive {value.isoformat()}")
    return value.astimezone(UTC)


class SimClock:
    """Simulated time = start + (monotonic seconds elapsed since start) * speed.

    `start=None` means the real current time (UTC). `speed=0` freezes the clock, which tests use
    together with `jump()`/`set()` to step time explicitly.
    """

    def __init__(
        self,
        start: datetime | None = None,
        speed: float = 1.0,
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if speed < 0:
            raise ValueError(f"speed must be >= 0, got {speed}")
        self._monotonic = monotonic
        self._speed = float(speed)
        self._anchor_sim = _require_aware(start) if start is not None else datetime.now(UTC)
        self._anchor_mono = monotonic()

    @property
    def speed(self) -> float:
        """Simulated seconds per real second."""
        return self._speed

    def now(self) -> datetime:
        """Current simulated time, aware UTC."""
        elapsed = (self._monotonic() - self._anchor_mono) * self._speed
        return self._anchor_sim + timedelta(seconds=elapsed)

    def timestamp(self) -> float:
        """Current simulated time as POSIX seconds."""
        return self.now().timestamp()

    def set(self, start: datetime) -> None:
        """Make the clock read `start` now; it keeps running at the same speed from there."""
        self._anchor_sim = _require_aware(start)
        self._anchor_mono = self._monotonic()

    def jump(self, delta: timedelta | float) -> None:
        """Move simulated time by `delta` (a timedelta or seconds; may be negative)."""
        if not isinstance(delta, timedelta):
            delta = timedelta(seconds=float(delta))
        self._anchor_sim += delta

    def set_speed(self, speed: float) -> None:
        """Change the speed without a discontinuity in simulated time."""
        if speed < 0:
            raise ValueError(f"speed must be >= 0, got {speed}")
        now = self.now()
        self._speed = float(speed)
        self.set(now)
