"""Meter times: Brussels local time without a DST flag, resolved forward."""

from datetime import UTC, datetime

import pytest

from logger.core.belgian_time import MeterClock, is_nonexistent, parse_compact, utc_candidates


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def test_summer_and_winter_times_convert_with_the_right_offset():
    clock = MeterClock()
    assert clock.resolve("250518211432", utc(2025, 5, 18)) == utc(2025, 5, 18, 19, 14, 32)
    assert clock.resolve("250118211432", utc(2025, 1, 18)) == utc(2025, 1, 18, 20, 14, 32)


def test_the_repeated_autumn_hour_has_two_candidates():
    assert utc_candidates(parse_compact("261025023000")) == [
        utc(2026, 10, 25, 0, 30),
        utc(2026, 10, 25, 1, 30),
    ]


def test_in_the_repeated_hour_time_keeps_moving_forward():
    clock = MeterClock(last=utc(2026, 10, 24, 23, 59, 59))  # 01:59:59 CEST
    first = clock.resolve("261025020000", utc(2026, 10, 25))
    clock.last = first
    assert first == utc(2026, 10, 25, 0, 0, 0)  # first 02:00, still CEST
    clock.last = utc(2026, 10, 25, 0, 59, 59)  # 02:59:59 CEST
    second = clock.resolve("261025020000", utc(2026, 10, 25))
    assert second == utc(2026, 10, 25, 1, 0, 0)  # second 02:00, now CET


def test_without_history_the_candidate_nearest_the_receive_time_wins():
    clock = MeterClock()
    assert clock.resolve("261025023000", utc(2026, 10, 25, 1, 31)) == utc(2026, 10, 25, 1, 30)
    assert clock.resolve("261025023000", utc(2026, 10, 25, 0, 31)) == utc(2026, 10, 25, 0, 30)


def test_spring_gap_times_are_recognised():
    assert is_nonexistent(parse_compact("260329023000"))
    assert not is_nonexistent(parse_compact("260329033000"))


@pytest.mark.parametrize("bad", ["", "2505182114", "25051821143x", "251318211432", None, 5])
def test_malformed_times_raise_value_error(bad):
    with pytest.raises(ValueError):
        parse_compact(bad)
