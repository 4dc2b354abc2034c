"""Point: identity, float-only fields, line protocol."""

import math
from datetime import UTC, datetime, timedelta, timezone

import pytest

from logger.core.line_protocol import identity_of_line
from logger.core.point import Point


def test_every_numeric_field_is_written_as_a_float():
    point = Point.make("m", {"installation": "home"}, {"a": 0, "b": 2, "c": True}, 1700000000)
    assert point.to_line() == "m,installation=home a=0.0,b=2.0,c=1.0 1700000000"


def test_nan_infinite_and_none_fields_are_dropped():
    point = Point.make("m", {}, {"a": math.nan, "b": math.inf, "c": None, "d": 1.5}, 0)
    assert point.field_dict == {"d": 1.5}


def test_a_point_without_usable_fields_is_not_made():
    assert Point.make("m", {"t": "x"}, {"a": None, "b": math.nan}, 0) is None


def test_empty_tag_values_are_left_out():
    point = Point.make("m", {"a": "", "b": None, "c": "x"}, {"f": 1.0}, 0)
    assert point.tags == (("c", "x"),)


def test_tags_are_sorted_so_identity_does_not_depend_on_order():
    one = Point.make("m", {"b": "2", "a": "1"}, {"f": 1.0}, 5)
    two = Point.make("m", {"a": "1", "b": "2"}, {"f": 2.0}, 5)
    assert one.identity == two.identity == "m,a=1,b=2 5"


def test_special_characters_are_escaped():
    point = Point.make("my m", {"k y": "v,a=l"}, {"f x": 1.0}, 0)
    assert point.to_line() == r"my\ m,k\ y=v\,a\=l f\ x=1.0 0"
    assert identity_of_line(point.to_line()) == point.identity


def test_time_is_whole_utc_seconds_from_an_aware_datetime():
    cet = timezone(timedelta(hours=1))
    point = Point.make("m", {}, {"f": 1.0}, datetime(2025, 1, 1, 1, 0, 0, 900000, tzinfo=cet))
    assert point.time == datetime(2025, 1, 1, 0, 0, 0, tzinfo=UTC)


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="naive"):
        Point.make("m", {}, {"f": 1.0}, datetime(2025, 1, 1))
