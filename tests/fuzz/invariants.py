"""What every produced point must satisfy, whatever the input was."""

from __future__ import annotations

import math
import re

from logger.core.line_protocol import identity_of_line
from logger.core.point import Point

_BAD_NUMBER = re.compile(r"=(?:-?nan|-?inf|-?infinity)\b", re.IGNORECASE)


def check_point(point: Point) -> None:
    assert isinstance(point, Point)
    assert point.measurement
    assert point.fields, "a point without fields must not exist"
    for key, value in point.fields:
        assert isinstance(key, str) and key, point
        assert type(value) is float, (key, value, type(value))
        assert math.isfinite(value), (key, value)
    for key, value in point.tags:
        assert isinstance(key, str) and key, point
        assert isinstance(value, str) and value != "", (key, value)
    assert type(point.time_s) is int
    line = point.to_line()
    assert "\n" not in line and "\r" not in line, line
    line.encode("utf-8")  # SQLite and the HTTP body must carry it: no lone surrogate (issue 19)
    assert line.startswith(point.series_key + " ")
    assert line.endswith(f" {point.time_s}")
    field_text = line[len(point.series_key) + 1 : -len(f" {point.time_s}")]
    # A tag value may be the text "nan" (a device called so); a field value never is.
    assert not _BAD_NUMBER.search(field_text), line
    assert identity_of_line(line) == point.identity
