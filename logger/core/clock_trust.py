"""Which clock to believe: the meter's or the host's. Pure; the caller passes every clock value.

A Raspberry Pi has no real-time clock. After a power cut its clock resumes from the last time it
saved (10-70 minutes in the past, more after a long outage) until NTP answers, and the box often
answers first. Points that carry no time of their own (solar, battery, charger, plug,
`power_flow`) would then land on timestamps that already hold real data. The meter's clock (the
local meter's `time`, the P1 telegram time) is kept right by the grid operator and does not care
about the Pi, so it is the reference:

- The **course** of the meter clock is `meter time - monotonic time` of the accepted readings (the
  middle of the printed second; the largest such offset: a reading printed late never pulls it
  back). It lets a time be read off
  the meter clock at any monotonic instant, between readings and across a box outage.
- A **meter reading is refused** (the caller counts it) when it says a time before 2024 (the box
  prints `000101000000` before it has read the meter; no reading can predate this software), when
  it lies more than `BOUND_S` behind the course (a meter clock does not run back), or, with no
  course yet in this process, more than `BOUND_S` before the newest meter time already recorded
  (`floor`, persisted by the caller). When the host clock is known to be NTP-synchronised it is a
  second witness: a reading more than `BOUND_S` from it is refused, one that agrees is accepted
  even where the course or the floor disagree (and restarts the course). Refused readings that
  keep one course among themselves for `ADOPT_AFTER_S` replace the old course: a meter clock that
  really was set back is followed after a while instead of being refused for good.
- A reading can be **tentative**: a local meter time in the repeated autumn hour (no DST flag)
  that had no course to be resolved by, only a guess. A course that rests on guesses gives way
  at once to the first reading that is not one (a P1 telegram with its S/W flag, a local time
  outside that hour), instead of refusing it as an hour behind.
- A **receive time** is the host clock's when the host is synchronised or agrees with the meter
  clock within `HOST_BOUND_S`; otherwise it is read off the meter clock's course; with no course
  yet it is None: the caller holds the points until there is one. An installation without any
  meter source has only the host clock. The host bound is tighter than the meter's: a host clock
  stepped back 90 s would otherwise write 90 s of points onto timestamps that hold real data,
  while a box serving a reading a minute late is still a true reading of that minute.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime

HALF_SECOND = 0.5  # a meter time is a whole second; the instant lies somewhere inside it
BOUND_S = 120.0  # a meter reading may lag its own course, or a synchronised host, this much
HOST_BOUND_S = 30.0  # the host clock stamps points only while this close to the meter clock
ADOPT_AFTER_S = 600.0  # a refused but self-consistent meter course is adopted after this long
SANITY_FLOOR = datetime(2024, 1, 1, tzinfo=UTC)  # no meter reading can be older than the logger


class ClockTrust:
    """The meter clock's course, and the time to stamp a receive-time point with."""

    def __init__(
        self,
        floor: datetime | None = None,
        host_synchronised: Callable[[], bool] | None = None,
        *,
        has_meter: bool = True,
        bound_s: float = BOUND_S,
        host_bound_s: float = HOST_BOUND_S,
        adopt_after_s: float = ADOPT_AFTER_S,
    ) -> None:
        self.floor = floor
        self.has_meter = has_meter
        self.bound_s = bound_s
        self.host_bound_s = host_bound_s
        self.adopt_after_s = adopt_after_s
        self._synchronised = host_synchronised or (lambda: False)
        self._offset: float | None = None  # meter epoch seconds - monotonic seconds
        self._tentative = False  # the course rests only on guessed (ambiguous) readings
        self._rival: tuple[float, float] | None = None  # (offset, first seen at monotonic)

    # -- the meter clock -------------------------------------------------------------------

    @property
    def has_course(self) -> bool:
        return self._offset is not None

    def meter_now(self, mono: float) -> datetime | None:
        """The meter clock's time at monotonic instant `mono`, once a reading was accepted."""
        if self._offset is None:
            return None
        return datetime.fromtimestamp(self._offset + mono, UTC)

    def expected(self, mono: float, host: datetime) -> datetime | None:
        """Where a reading taken at `mono` should lie: the course, else a synchronised host."""
        course = self.meter_now(mono)
        if course is not None:
            return course
        return host if self._synchronised() else None

    def observe(self, meter: datetime, mono: float, host: datetime,
                tentative: bool = False) -> str | None:
        """Judge a meter reading taken at `mono`; accept it (None) or say why it is refused.
        `tentative`: the reading's instant is a guess (see the module doc)."""
        m = meter.timestamp()
        if meter < SANITY_FLOOR:
            return f"{meter:%Y-%m-%d %H:%M:%S}Z is before {SANITY_FLOOR:%Y}: not a meter time"
        if self._synchronised():
            skew = m - host.timestamp()
            if abs(skew) > self.bound_s:
                return f"{skew:+.0f} s from the NTP-synchronised host clock"
            self._accept(m, mono, self._behind(m, mono) is not None, tentative)
            return None
        if self._tentative and not tentative:  # a guessed course gives way to a sure reading
            self._accept(m, mono, True, tentative)
            return None
        behind = self._behind(m, mono)
        if behind is not None and not self._adopt(m - mono, mono):
            return behind
        self._accept(m, mono, behind is not None, tentative)
        return None

    def _behind(self, m: float, mono: float) -> str | None:
        if self._offset is not None:
            lag = self._offset + mono - m
            if lag > self.bound_s:
                return f"{lag:.0f} s behind the meter clock's own course"
        elif self.floor is not None:
            lag = self.floor.timestamp() - m
            if lag > self.bound_s:
                return f"{lag:.0f} s before the newest meter time already recorded"
        return None

    def _adopt(self, offset: float, mono: float) -> bool:
        """True once refused readings kept one course for `adopt_after_s`."""
        if self._rival is None or abs(offset - self._rival[0]) > self.bound_s:
            self._rival = (offset, mono)
            return False
        return mono - self._rival[1] >= self.adopt_after_s

    def _accept(self, m: float, mono: float, restart: bool, tentative: bool) -> None:
        offset = m + HALF_SECOND - mono
        if restart or self._offset is None:
            self._tentative = tentative
        elif not tentative:
            self._tentative = False
        if restart or self._offset is None or offset > self._offset:
            self._offset = offset
        self._rival = None
        moment = datetime.fromtimestamp(m, UTC)
        if restart or self.floor is None or moment > self.floor:
            self.floor = moment

    # -- receive times ---------------------------------------------------------------------

    def host_trusted(self, mono: float, host: datetime) -> bool | None:
        """Whether the host clock may stamp points now; None while it cannot be told."""
        if not self.has_meter or self._synchronised():
            return True
        course = self.meter_now(mono)
        if course is None:
            return None
        return abs(host.timestamp() - course.timestamp()) <= self.host_bound_s

    def stamp(self, mono: float, host: datetime) -> datetime | None:
        """The whole-second time of a point received at `mono` (host clock `host`), or None."""
        trusted = self.host_trusted(mono, host)
        if trusted is None:
            return None
        if trusted:
            return host.replace(microsecond=0)
        assert self._offset is not None
        return datetime.fromtimestamp(math.floor(self._offset + mono), UTC)
