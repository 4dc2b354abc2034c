"""The one data type every source produces and every sink consumes.

A point's identity in InfluxDB is measurement + tag set + timestamp. Everything here is built so
that identity is stable: tags are sorted, timestamps are whole seconds taken from the source, and
every numeric field is a float (InfluxDB fixes a field's type on first write; an integer `0` into a
float field makes the whole batch fail). Values that InfluxDB cannot store (NaN, infinities) or
that carry no information (None) never reach a point.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from logger.core.line_protocol import format_fields
from logger.core.line_protocol import series_key as format_series_key

FieldInput = float | int | bool | None

MAX_TAG_CHARS = 256  # a device or meter id is a few dozen characters; a megabyte is an attack


def text_problem(value: str, limit: int = MAX_TAG_CHARS) -> str | None:
    """Why `value` cannot travel in a line (a tag value, a tag or field key, a string field
    value), or None when it can.

    Line protocol has no escape for a line end: a newline splits the point into two lines, half
    a junk measurement and half a line InfluxDB refuses on every retry. Other control characters
    have no business in an id either. And the text must be UTF-8: a lone UTF-16 surrogate (a
    legal JSON escape, `"inv\\ud800"`, or a non-UTF-8 byte read from the environment) is a
    Python string that neither SQLite nor the HTTP body can encode, so one such point would
    stop every commit and every write. Sources check ids with this and count what they refuse;
    `Point.make` refuses the rest, and the outbox refuses any line that still cannot be encoded.
    """
    if len(value) > limit:
        return f"longer than {limit} characters"
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        return "contains a control character (a line end would split the line)"
    if not value.isascii() and not encodable(value):
        return "is not valid Unicode text (a lone surrogate: no UTF-8 for it)"
    return None


def encodable(text: str) -> bool:
    """Whether UTF-8 can carry `text` (not when it holds a lone surrogate)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def tag_problem(value: str) -> str | None:
    """Why `value` cannot be a tag value, or None when it can (see `text_problem`)."""
    return text_problem(value)


def key_problem(key: str) -> str | None:
    """Why `key` cannot be a tag or field key, or None when it can: as a tag value, and not
    empty (InfluxDB refuses an empty key, and the whole batch with it)."""
    if not key:
        return "is empty"
    return text_problem(key)


def to_epoch_seconds(moment: datetime | int) -> int:
    """Whole UTC seconds since the epoch; naive datetimes are refused (they hide a zone bug)."""
    if isinstance(moment, int):
        return moment
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment.isoformat()} has no time zone")
    return int(moment.timestamp() // 1)


def clean_field_value(value: FieldInput) -> float | None:
    """A storable float for a field value, or None when the value must not be written."""
    if value is None:
        return None
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    if not math.isfinite(number):
        return None
    return number


@dataclass(frozen=True, slots=True)
class Point:
    """One InfluxDB point: immutable, float fields only, time in whole UTC seconds."""

    measurement: str
    tags: tuple[tuple[str, str], ...]
    fields: tuple[tuple[str, float], ...]
    time_s: int

    @classmethod
    def make(
        cls,
        measurement: str,
        tags: Mapping[str, str | None],
        fields: Mapping[str, FieldInput],
        time: datetime | int,
    ) -> Point | None:
        """Build a point, dropping unusable fields and empty tags; None when no field is left.

        Empty tag values are dropped rather than written because InfluxDB refuses them and
        because a tag that is sometimes empty would split one series into two. A tag value or
        key that line protocol cannot carry (`tag_problem`, `key_problem`) raises ValueError:
        the source should have refused it, counted, before.
        """
        clean_tags = tuple(
            sorted((key, str(value)) for key, value in tags.items() if value not in (None, ""))
        )
        for key, value in clean_tags:
            problem = key_problem(key) or tag_problem(value)
            if problem is not None:
                raise ValueError(f"tag {key[:40]!r}={value[:40]!r}: {problem}")
        clean_fields = []
        for key, value in fields.items():
            problem = key_problem(key)
            if problem is not None:
                raise ValueError(f"field key {key[:40]!r}: {problem}")
            number = clean_field_value(value)
            if number is not None:
                clean_fields.append((key, number))
        if not clean_fields:
            return None
        return cls(measurement, clean_tags, tuple(sorted(clean_fields)), to_epoch_seconds(time))

    @property
    def tag_dict(self) -> dict[str, str]:
        return dict(self.tags)

    @property
    def field_dict(self) -> dict[str, float]:
        return dict(self.fields)

    @property
    def time(self) -> datetime:
        return datetime.fromtimestamp(self.time_s, UTC)

    @property
    def series_key(self) -> str:
        """Measurement and tags in line-protocol form: the series this point belongs to."""
        return format_series_key(self.measurement, self.tags)

    @property
    def identity(self) -> str:
        """What InfluxDB uses to decide that two writes are the same point."""
        return f"{self.series_key} {self.time_s}"

    def to_line(self) -> str:
        """Line protocol with second precision (the writers always send precision=s)."""
        return f"{self.series_key} {format_fields(self.fields)} {self.time_s}"


def restamp(points: list[Point], moment: datetime) -> list[Point]:
    """The same points at `moment` (whole seconds): receive-time points take the time the clock
    rule chose (`logger.core.clock_trust`), whichever source received them."""
    seconds = to_epoch_seconds(moment)
    return [p if p.time_s == seconds else replace(p, time_s=seconds) for p in points]
