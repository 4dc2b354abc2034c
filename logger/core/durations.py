"""Durations as people and InfluxDB write them: retentions (`52w`, `INF`), Go durations
(`8736h0m0s`, how InfluxDB 1.x reports a retention) and short human phrases ("3 min ago").
"""

from __future__ import annotations

import re
import time
from datetime import datetime

from logger.core.belgian_time import local_time

INFINITE = "INF"
_DURATION_PART = re.compile(r"(\d+)(w|d|h|m|s)")
_DURATION = re.compile(r"^(?:\d+(?:w|d|h|m|s))+$")
_UNIT_SECONDS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
_GO_PART = re.compile(r"(\d+(?:\.\d+)?)(h|m|s|ms|us|µs|ns)")
_GO_UNIT = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}


def normalise_retention(value: str) -> str:
    """`INF` (keep forever) or an InfluxQL duration such as `52w`, `30d`, `720h` (>= 1 h)."""
    text = value.strip().lower().replace(" ", "")
    if text in ("inf", "infinite", "0", "0s", ""):
        return INFINITE
    if not _DURATION.match(text):
        raise ValueError(
            f"{value!r} is not a retention: use INF (keep forever) or a duration such as "
            "52w, 30d or 720h"
        )
    if retention_seconds(text) < 3600:
        raise ValueError(f"{value!r} is shorter than InfluxDB's minimum retention of 1h")
    return text


def retention_seconds(value: str) -> int:
    """Seconds of a normalised retention; 0 means infinite (as InfluxDB itself says)."""
    if value.upper() == INFINITE:
        return 0
    return sum(int(n) * _UNIT_SECONDS[unit] for n, unit in _DURATION_PART.findall(value))


AUTO = "auto"
NO_BOUND = "none"
MIN_QUERY_SPAN_S = 600


def normalise_query_span(value: str) -> str:
    """`[influx] max_query_span`: `auto` (the server's own bound), `none`, or a duration such
    as `24h` or `3d` (at least 10 minutes)."""
    text = value.strip().lower().replace(" ", "")
    if text in (AUTO, ""):
        return AUTO
    if text in (NO_BOUND, "0", "inf", "off"):
        return NO_BOUND
    if not _DURATION.match(text):
        raise ValueError(f"{value!r} is not a span: use auto, none or a duration such as 24h")
    if retention_seconds(text) < MIN_QUERY_SPAN_S:
        raise ValueError(f"{value!r} is shorter than 10m: no query would get anywhere")
    return text


def query_span_seconds(value: str) -> int | None:
    """Seconds of a normalised span other than `auto`; None for `none` (no bound)."""
    return None if value == NO_BOUND else retention_seconds(value)


def go_duration_seconds(text: str) -> int:
    """`8736h0m0s` (how InfluxDB 1.x shows a retention) as seconds; `0s` is infinite = 0."""
    return round(sum(float(n) * _GO_UNIT[unit] for n, unit in _GO_PART.findall(text)))


def describe_seconds(seconds: int) -> str:
    """A retention in InfluxQL units (`52w`, `30d`), or `infinite` for 0."""
    if seconds == 0:
        return "infinite"
    for unit in ("w", "d", "h", "m"):
        if seconds % _UNIT_SECONDS[unit] == 0:
            return f"{seconds // _UNIT_SECONDS[unit]}{unit}"
    return f"{seconds}s"


def human_duration(seconds: float) -> str:
    """`45 s`, `12 min`, `3.5 h`: a length of time for a log line or a summary."""
    seconds = max(0.0, seconds)
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def ago(seconds: float) -> str:
    return f"{human_duration(seconds)} ago"


def moment_and_age(timestamp: float, now: float | None = None) -> str:
    """`2026-11-26 11:00:00 CET (3 min ago)` for an epoch timestamp: Belgian local time, as
    the people reading `status` live by it (the Pi's own zone is often UTC)."""
    reference = time.time() if now is None else now
    delta = reference - timestamp
    age = ago(delta) if delta >= 0 else f"in {human_duration(-delta)}"
    return f"{local_time(timestamp)} ({age})"


def iso_and_age(text: str, now: float | None = None) -> str:
    """An ISO time as recorded (`2026-11-26T10:00:00+00:00`) shown like `moment_and_age`; a
    text that is not one is returned as it is."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return text
    if moment.tzinfo is None:
        return text
    return moment_and_age(moment.timestamp(), now)
