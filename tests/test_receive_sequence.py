"""Receive times of one source never repeat or step back, whichever clock stamps them.

A receive-time point's identity is its series and its whole second: a poll stamped with a second
an earlier poll already used replaces that poll's points in InfluxDB, a reading lost without an
error. The clock-behind fault scenario lost a `power_flow` row that way about once in fifteen
runs: while the host was 40 minutes behind, the meter clock's course stamped the polls a second
ahead of true time; NTP then set the host clock, and the scheduler ran the next poll a second
after the previous one, at the same host second. The expected stamps are worked out here from
the poll instants, not taken from the code.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from logger.app.cloud_jobs import CloudJobs
from logger.config import Settings
from logger.core.clock_trust import ClockTrust
from logger.core.point import Point
from logger.core.problems import Problems
from logger.core.receive_sequence import ReceiveSequence
from logger.sources.local.receive_time import ReceiveStamper
from logger.testbed.simulator import Simulator, SimulatorConfig
from logger.testbed.simulator.cloud_api import CloudSimConfig

log = logging.getLogger("test")
TRUE = datetime(2026, 11, 27, 6, 9, 10, tzinfo=UTC)  # true time at monotonic MONO
MONO = 1000.0
BEHIND = timedelta(minutes=40)


def at(seconds: float) -> datetime:
    return TRUE + timedelta(seconds=seconds)


def flow() -> list[Point]:
    return [Point.make("power_flow", {"installation": "home", "source": "local"},
                       {"grid_w": 8.0}, TRUE)]


def test_the_poll_after_ntp_answers_does_not_land_on_the_second_the_meter_clock_gave_before():
    clock = ClockTrust()
    stamper = ReceiveStamper(clock, Problems(log))
    # The meter clock runs 0.9 s ahead of true time: the reading printed 06:09:11 arrives at
    # true 06:09:10.1, with the host 40 minutes behind. The course (the middle of the printed
    # second) then lies 1.4 s ahead of true time.
    assert clock.observe(at(1), MONO + 0.1, at(0.1) - BEHIND) is None
    # Poll A starts at true :18.9 with the host still behind: the course says :20.3.
    polls = [(8.9, at(8.9) - BEHIND)]
    # NTP answers; the clock jump makes the scheduler run poll B a second later, at host :19.9,
    # which agrees with the course within 30 s: from now on the host clock stamps.
    polls += [(9.9, at(9.9)), (11.9, at(11.9)), (13.9, at(13.9)), (15.9, at(15.9))]
    seconds = []
    for start, host in polls:
        (point,) = stamper.stamp(flow(), MONO + start, host)
        seconds.append(point.time.second)
    # A keeps the course's :20. B (host :19) and C (host :21) take the second after the
    # previous poll; D's host second :23 is free again, and from there the host clock rules.
    assert seconds == [20, 21, 22, 23, 25]


def test_polls_held_until_the_meter_vouches_keep_one_second_each_even_when_a_second_apart():
    clock = ClockTrust()
    stamper = ReceiveStamper(clock, Problems(log))
    # No meter reading yet: the first poll and one the scheduler ran 0.3 s later are held.
    assert stamper.stamp(flow(), MONO + 0.2, at(0.2) - BEHIND) == []
    assert stamper.stamp(flow(), MONO + 0.5, at(0.5) - BEHIND) == []
    assert clock.observe(at(2), MONO + 2.1, at(2.1) - BEHIND) is None
    out = stamper.stamp(flow(), MONO + 4.0, at(4.0) - BEHIND)
    # The course lies 0.4 s ahead: :10.6 and :10.9 for the held polls, so the second takes
    # :11; :14.4 for the last.
    assert [p.time.second for p in out] == [10, 11, 14]


@given(st.lists(st.integers(min_value=0, max_value=120), min_size=1, max_size=60))
def test_stamps_increase_strictly_never_precede_their_clock_and_follow_it_when_they_can(clock):
    sequence = ReceiveSequence("test")
    previous = None
    for second in clock:
        moment = at(second)
        stamp = sequence.next(moment)
        assert stamp >= moment
        if previous is not None:
            assert stamp > previous
            if moment > previous:
                assert stamp == moment
        else:
            assert stamp == moment
        previous = stamp


def test_cloud_realtime_polls_given_the_same_second_twice_are_written_at_distinct_seconds(token):
    class SteppedBack(ClockTrust):
        """A clock rule that keeps answering one second, as after a step back."""

        def stamp(self, mono: float, host: datetime) -> datetime | None:
            return TRUE

    async def scenario() -> list[Point]:
        put: list[Point] = []
        cloud = CloudSimConfig(token=token)
        async with Simulator(SimulatorConfig(seed=4, cloud=cloud)) as sim:
            settings = Settings(installation="home", cloud={
                "enabled": True, "realtime": True, "token": token, "url": sim.cloud_url})
            jobs = CloudJobs.create(settings, lambda points, source: put.extend(points),
                                    Problems(log), clock=SteppedBack())
            assert jobs is not None
            try:
                for _ in range(3):
                    await jobs.poll_realtime()
            finally:
                await jobs.close()
        return put

    points = asyncio.run(scenario())
    assert [p.time_s - int(TRUE.timestamp()) for p in points] == [0, 1, 2]
    assert {p.measurement for p in points} == {"power_flow"}
