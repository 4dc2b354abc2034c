"""Receive-time points (solar, battery, charger, plug, `power_flow`) stamped by a clock we trust.

These points carry no time of their own. Which clock stamps them is `ClockTrust`'s rule
(`logger.core.clock_trust`): the host clock while it agrees with the meter clock, else the meter
clock's course. While neither can be told (no meter reading yet, host not known to be
synchronised), a poll's points are held in memory, at most `MAX_HELD_POLLS` polls, and stamped
from the monotonic instant they were received at as soon as the meter clock is known. Beyond the
bound the oldest held poll is dropped and counted: never written at a time nobody can vouch for.
Successive polls' stamps never repeat or step back (`logger.core.receive_sequence`): a repeated
second would overwrite the earlier poll's points.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import datetime

from logger.core.clock_trust import ClockTrust
from logger.core.logs import get_logger
from logger.core.point import Point, restamp
from logger.core.problems import Problems
from logger.core.receive_sequence import ReceiveSequence

log = get_logger(__name__)

MAX_HELD_POLLS = 120  # 10 minutes at the default 5 s interval
HELD_DROPPED = "local_unverified_time_dropped"  # problem kind (an outbox counter)


@dataclass(frozen=True, slots=True)
class _Held:
    mono: float
    host: datetime
    points: list[Point]


class ReceiveStamper:
    """Gives each poll's receive-time points their time, holding them while it is unknown."""

    def __init__(self, clock: ClockTrust, problems: Problems,
                 max_held: int = MAX_HELD_POLLS) -> None:
        self.clock = clock
        self.problems = problems
        self.max_held = max_held
        self._held: deque[_Held] = deque()
        self.sequence = ReceiveSequence("local")  # its last stamp survives a restart
        self._trusted: bool | None = True  # what was last said about the host clock

    @property
    def held(self) -> int:
        """Polls waiting for a time."""
        return len(self._held)

    def stamp(self, points: list[Point], mono: float, host: datetime) -> list[Point]:
        """This poll's points at their time, after any held poll that can now be stamped."""
        self._say(self.clock.host_trusted(mono, host), mono, host)
        moment = self.clock.stamp(mono, host)
        if moment is None:
            if points:
                self._held.append(_Held(mono, host, points))
            while len(self._held) > self.max_held:
                dropped = self._held.popleft()
                self.problems.report(
                    HELD_DROPPED,
                    "no meter time to check the host clock against for %d polls: the oldest "
                    "held poll (%d points) is dropped rather than written at an unverified time",
                    self.max_held, len(dropped.points),
                )
            return []
        out: list[Point] = []
        while self._held:
            held = self._held.popleft()
            when = self.clock.stamp(held.mono, held.host)
            if when is not None:
                out.extend(restamp(held.points, self.sequence.next(when)))
        if points:
            out.extend(restamp(points, self.sequence.next(moment)))
        return out

    def _say(self, trusted: bool | None, mono: float, host: datetime) -> None:
        """One log line when the verdict on the host clock changes."""
        if trusted == self._trusted:
            return
        self._trusted = trusted
        if trusted is None:
            log.warning("no meter time yet to check the host clock against: receive-time "
                        "points (solar, battery, charger, plug, power_flow) are held")
            return
        if trusted:
            log.info("the host clock agrees with the meter clock again: receive times come "
                     "from the host clock")
            return
        course = self.clock.meter_now(mono)
        skew = host.timestamp() - course.timestamp() if course is not None else 0.0
        log.warning("the host clock is %+.0f s off the meter clock (no RTC, NTP not yet "
                    "answered?): receive times come from the meter clock until they agree",
                    skew)
