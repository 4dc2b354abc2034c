"""Which clock stamps a point: the meter's course against a host clock that may be wrong.

Every case is plain arithmetic on instants the test chooses (true time, the host's error, the
monotonic clock), so the expected stamp is computed here, not taken from the code under test.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from logger.core.belgian_time import MeterClock
from logger.core.clock_trust import ClockTrust

TRUE = datetime(2026, 6, 1, 12, 0, 0, tzinfo=UTC)  # the meter's (right) time at MONO
MONO = 1000.0
BEHIND = timedelta(minutes=40)  # a Raspberry Pi after a power cut, before NTP answers


def at(seconds: float) -> datetime:
    return TRUE + timedelta(seconds=seconds)


def near(moment: datetime | None, truth: datetime) -> bool:
    """Within the printed second: a meter time says only which second it is."""
    return moment is not None and abs((moment - truth).total_seconds()) <= 0.5


def test_a_host_clock_40_minutes_behind_is_not_used_the_meter_clock_stamps_instead():
    clock = ClockTrust()
    assert clock.observe(TRUE, MONO, TRUE - BEHIND) is None  # the meter is believed
    for later in (0.4, 5.0, 3600.0):
        host = at(later) - BEHIND
        assert clock.host_trusted(MONO + later, host) is False
        assert clock.stamp(MONO + later, host) == at(later).replace(microsecond=0)


def test_a_host_clock_that_agrees_with_the_meter_stamps_as_before():
    clock = ClockTrust()
    clock.observe(TRUE, MONO, TRUE + timedelta(seconds=1.5))
    host = at(7.25) + timedelta(seconds=1.5)
    assert clock.stamp(MONO + 7.25, host) == host.replace(microsecond=0)
    # Within 30 s either way, beyond it the meter's course again: a host stepped back 90 s
    # must not write 90 s of points onto timestamps that hold real data.
    assert clock.stamp(MONO + 7, at(7) + timedelta(seconds=29)) == at(7 + 29)
    assert clock.stamp(MONO + 7, at(7) - timedelta(seconds=29)) == at(7 - 29)
    assert clock.stamp(MONO + 7, at(7) - timedelta(seconds=90)) == at(7)
    assert clock.stamp(MONO + 7, at(7) + timedelta(seconds=31)) == at(7)


def test_without_a_meter_reading_nothing_can_be_stamped_unless_ntp_vouches_for_the_host():
    assert ClockTrust().stamp(MONO, TRUE) is None
    assert ClockTrust(host_synchronised=lambda: True).stamp(MONO, TRUE) == TRUE
    # An installation with no meter source at all has only the host clock.
    assert ClockTrust(has_meter=False).stamp(MONO, TRUE - BEHIND) == TRUE - BEHIND


def test_a_meter_time_in_the_year_2000_is_refused_whatever_the_host_says():
    clock = ClockTrust()
    year_2000 = datetime(2000, 1, 1, tzinfo=UTC)  # `000101000000` from a box without a meter
    assert clock.observe(year_2000, MONO, TRUE) is not None
    assert clock.observe(year_2000, MONO, year_2000) is not None  # even a host that agrees
    assert not clock.has_course and clock.stamp(MONO, TRUE) is None


def test_a_meter_time_far_from_a_synchronised_host_is_refused_one_that_agrees_is_taken():
    clock = ClockTrust(host_synchronised=lambda: True)
    assert clock.observe(TRUE + timedelta(minutes=10), MONO, TRUE) is not None
    assert clock.observe(TRUE - timedelta(minutes=10), MONO, TRUE) is not None
    assert clock.observe(TRUE + timedelta(seconds=2), MONO, TRUE) is None


def test_an_unsynchronised_host_cannot_refuse_the_meter():
    """The host clock is the suspect one: a meter far from it is believed and stamps."""
    clock = ClockTrust()
    assert clock.observe(TRUE, MONO, TRUE - timedelta(days=3)) is None
    assert clock.stamp(MONO + 1, TRUE - timedelta(days=3)) == at(1)


def test_the_meter_clock_does_not_run_back_a_reading_far_behind_its_course_is_refused():
    clock = ClockTrust()
    assert clock.observe(TRUE, MONO, TRUE) is None
    assert clock.observe(at(60 - 121), MONO + 60, at(60)) is not None  # 121 s behind the course
    assert clock.observe(at(60 - 30), MONO + 60, at(60)) is None  # a small step back is allowed
    assert near(clock.meter_now(MONO + 60), at(60))  # and does not pull the course back


def test_after_a_restart_a_meter_time_before_the_recorded_floor_is_refused():
    clock = ClockTrust(floor=TRUE)
    assert clock.observe(TRUE - timedelta(hours=2), MONO, TRUE) is not None
    assert clock.observe(TRUE + timedelta(minutes=70), MONO, TRUE - BEHIND) is None


def test_a_meter_clock_that_really_was_set_back_is_followed_after_ten_minutes():
    clock = ClockTrust()
    clock.observe(TRUE, MONO, TRUE)
    back = timedelta(hours=1)
    refused = [clock.observe(at(s) - back, MONO + s, at(s)) for s in range(5, 600, 5)]
    assert all(r is not None for r in refused)
    assert clock.observe(at(605) - back, MONO + 605, at(605)) is None  # adopted
    assert near(clock.meter_now(MONO + 610), at(610) - back)


def test_the_repeated_autumn_hour_after_a_70_minute_outage_is_resolved_by_elapsed_time():
    """Issue example: last reading 02:10 CEST; 70 minutes later the box shows 02:20 again.

    02:20 means 00:20Z (summer time) or 01:20Z (winter time); 70 minutes after 00:10Z is 01:20Z.
    """
    last = datetime(2026, 10, 25, 0, 10, tzinfo=UTC)  # 02:10 CEST
    clock, meter = ClockTrust(), MeterClock(last)
    clock.observe(last, MONO, last)
    later = MONO + 70 * 60
    host = last + timedelta(minutes=70)
    moment = meter.resolve("261025022000", host, clock.expected(later, host))
    assert moment == datetime(2026, 10, 25, 1, 20, tzinfo=UTC)


def test_a_course_resting_on_a_guess_gives_way_to_a_sure_reading_an_hour_off():
    """02:55 local without DST flag, guessed as winter time (01:55Z); the P1 telegram says
    02:55 S (00:55Z). The guess must not make the sure reading look an hour behind."""
    clock = ClockTrust()
    guess = datetime(2026, 10, 25, 1, 55, tzinfo=UTC)
    sure = datetime(2026, 10, 25, 0, 55, tzinfo=UTC)
    assert clock.observe(guess, MONO, TRUE, tentative=True) is None
    assert clock.observe(sure, MONO + 1, TRUE) is None
    assert near(clock.meter_now(MONO + 11), sure + timedelta(seconds=11))
    # A sure course does refuse a reading an hour behind it.
    assert clock.observe(sure - timedelta(hours=1), MONO + 12, TRUE) is not None
