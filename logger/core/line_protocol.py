"""InfluxDB line protocol: the one place that escapes names and values and splits lines.

Line protocol has three escaping rules (measurement; tag keys, tag values and field keys; string
field values). Every line the logger writes (points, the migration record, test fixtures) is
built from these functions, so a name with a space or a comma is escaped the same way everywhere.
"""

from __future__ import annotations

from collections.abc import Mapping


def escape_measurement(text: str) -> str:
    return text.replace("\\", "\\\\").replace(",", "\\,").replace(" ", "\\ ")


def escape_key(text: str) -> str:
    """A tag key, tag value or field key."""
    return text.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=").replace(" ", "\\ ")


def escape_string(text: str) -> str:
    """The inside of a double-quoted string field value."""
    return text.replace("\\", "\\\\").replace('"', '\\"')


def format_float(value: float) -> str:
    """Shortest text that reads back as the same float (repr), never in integer form."""
    return repr(float(value))


def series_key(measurement: str, tags: Mapping[str, str] | tuple[tuple[str, str], ...]) -> str:
    """Measurement and tags in line-protocol form (tags in the order given)."""
    pairs = tags.items() if isinstance(tags, Mapping) else tags
    parts = [escape_measurement(measurement)]
    parts.extend(f"{escape_key(k)}={escape_key(v)}" for k, v in pairs)
    return ",".join(parts)


def format_fields(fields: Mapping[str, float | str] | tuple[tuple[str, float], ...]) -> str:
    """Float fields as shortest floats, strings quoted and escaped."""
    pairs = fields.items() if isinstance(fields, Mapping) else fields
    return ",".join(
        f'{escape_key(k)}="{escape_string(v)}"' if isinstance(v, str)
        else f"{escape_key(k)}={format_float(v)}"
        for k, v in pairs
    )


def identity_of_line(line: str) -> str:
    """The identity (series key and timestamp) of a line produced by `format_line`.

    Used by the outbox and by export, which hold line text, not Point objects. Field values
    are floats and keys contain no unescaped spaces, so the first and last unescaped spaces
    delimit the field set.
    """
    series_end = _first_unescaped_space(line)
    time_start = line.rstrip().rfind(" ")
    return f"{line[:series_end]} {line[time_start + 1:].strip()}"


def measurement_of_line(line: str) -> str:
    """The (still escaped) measurement of a line."""
    index = 0
    while index < len(line):
        char = line[index]
        if char == "\\":
            index += 2
            continue
        if char in ", ":
            return line[:index]
        index += 1
    return line


def _first_unescaped_space(line: str) -> int:
    index = 0
    while True:
        index = line.index(" ", index)
        backslashes = 0
        probe = index - 1
        while probe >= 0 and line[probe] == "\\":
            backslashes += 1
            probe -= 1
        if backslashes % 2 == 0:
            return index
        index += 1
