"""Where a series in InfluxDB has holes, found without reading its points into Python.

A gap is the open interval between two consecutive points of a series that lie more than a
threshold apart (see `logger.app.backfill` for which series and why). Its edges are the two
points' own timestamps, to the second.

Why not read the timestamps
---------------------------
A year of 1 s data is 31.6 million timestamps: as Python lists and a set, gigabytes, far past a
Raspberry Pi. The question "where are two consecutive points more than T apart" is answered by
InfluxDB itself with `elapsed()`, whose result is filtered in a subquery, so only the gaps
cross the wire:

    SELECT "elapsed" FROM (SELECT elapsed("grid_w", 1s) FROM "power_flow"
                           WHERE <tags> AND time >= LO AND time < HI) WHERE "elapsed" > T

Each row is the point that ends a gap (its time) and the distance to the point before it, so
both edges are exact. InfluxDB 1.x, 2.x (`/query` with DBRP) and 3.x all answer this InfluxQL
(`elapsed()` and subqueries are on the 3.x InfluxQL support list). Memory here grows with the
number of gaps, never with the number of points. InfluxDB still reads every timestamp once: no
InfluxQL aggregate can prove that a stretch has no hole without looking at it (a coarse
`count()` per hour cannot tell a 20 s hole from jitter of the poll interval), so this is one
linear pass on the server, in chunks so that no single query runs long.

Chunks
------
The window is walked in chunks (one day to start with, then sized so a query takes about a
second). Per non-empty chunk: its last point (`ORDER BY time DESC LIMIT 1`) and the `elapsed()`
query, whose inner range starts at the previous chunk's last point, so a gap across a chunk
boundary is seen like any other. Until the first point is known, the chunk's first point
(`LIMIT 1`) stands in. Empty chunks cost one query. Time here is UTC epoch seconds throughout:
chunks and DST have nothing to do with each other (Belgian days matter only for which cloud days
to fetch, `Gap.days`).
"""

from __future__ import annotations

import time
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from logger.core.belgian_time import brussels_day
from logger.core.durations import human_duration
from logger.sink.influxql import InfluxQL, QueryError, quote_ident, quote_string

MIN_CHUNK = 3600  # seconds; a chunk that still overflows the row limit at this size is an error
MAX_CHUNK = 32 * 86400
FIRST_CHUNK = 86400
TARGET_QUERY_SECONDS = 1.0  # chunks grow while a query is faster, shrink when much slower


@dataclass(frozen=True, order=True)
class Gap:
    """No point of the series strictly between `start` and `end` (epoch seconds)."""

    start: int
    end: int

    @property
    def seconds(self) -> int:
        return self.end - self.start

    def inside(self, times: Sequence[int]) -> slice:
        """The part of the sorted `times` strictly between the edges (the edges are local
        points: a cloud sample there would sit on top of one)."""
        return slice(bisect_right(times, self.start), bisect_left(times, self.end))

    def days(self) -> list[date]:
        first, last = brussels_day(self.start + 1), brussels_day(self.end - 1)
        return [first + timedelta(days=i) for i in range((last - first).days + 1)]

    def describe(self) -> str:
        def fmt(t: int) -> str:
            return datetime.fromtimestamp(t, UTC).astimezone().strftime("%Y-%m-%d %H:%M:%S%z")

        return f"{fmt(self.start)} .. {fmt(self.end)} ({human_duration(self.seconds)})"


@dataclass(frozen=True)
class Series:
    """One series (or the merge of the series matching `tags`): a field of a measurement."""

    measurement: str
    field: str
    tags: tuple[tuple[str, str], ...]

    def where(self, lo: int, hi: int) -> str:
        """The WHERE clause for [lo, hi) (epoch seconds)."""
        parts = [f"{quote_ident(k)} = {quote_string(v)}" for k, v in self.tags]
        parts += [f"time >= {lo}s", f"time < {hi}s"]
        return " AND ".join(parts)


@dataclass
class SeriesGaps:
    """What a scan found: the gaps, and the first and last point of the series in the window."""

    gaps: list[Gap] = field(default_factory=list)
    first: int | None = None
    last: int | None = None


class GapFinder:
    """Gap queries against one InfluxDB; counts the queries it sent (`queries`)."""

    def __init__(self, ql: InfluxQL, first_chunk: int = FIRST_CHUNK) -> None:
        self.ql = ql
        self.first_chunk = max(MIN_CHUNK, first_chunk)
        self.queries = 0

    async def scan(self, series: Series, start: int, end: int, threshold: float,
                   before: int | None = None, after: int | None = None) -> SeriesGaps:
        """The gaps of `series` in [start, end), in time order.

        `before`/`after` are edges that count as points just outside the window (e.g. the
        window's own start when the time before the first point should count): the gap from
        `before` to the first point and from the last point to `after` are reported like
        interior ones. Without a point in the window, `before` .. `after` is one gap.
        """
        found = SeriesGaps()
        prev, prev_is_point = before, False  # the newest point (or edge) before `lo`
        lo, size = start, self.first_chunk
        while lo < end:
            hi = min(end, lo + size)
            last = await self._edge(series, lo, hi, newest=True)
            if last is None:
                lo = hi
                continue
            leading: list[Gap] = []
            if prev_is_point:
                assert prev is not None
                inner_lo = prev
            else:
                first = await self._edge(series, lo, hi, newest=False)
                assert first is not None
                if prev is not None and first - prev > threshold:
                    leading.append(Gap(prev, first))
                inner_lo = first
            began = time.monotonic()
            ends = await self._long_steps(series, inner_lo, hi, threshold)
            took = time.monotonic() - began
            if ends is None:  # more gaps than the server returns rows: a smaller chunk
                if hi - lo <= MIN_CHUNK:
                    raise QueryError(f"InfluxDB truncated the gap list of {series.measurement} "
                                     f"even for one hour (max-row-limit too low)")
                size = max(MIN_CHUNK, (hi - lo) // 2)
                continue
            found.gaps.extend(leading)
            found.gaps.extend(Gap(t - step, t) for t, step in ends)
            if found.first is None:
                found.first = inner_lo
            prev, prev_is_point, found.last = last, True, last
            lo = hi
            size = _next_size(size, took)
        if prev is not None and after is not None and after - prev > threshold:
            found.gaps.append(Gap(prev, after))
        return found

    async def has_point(self, series: Series, lo: int, hi: int) -> bool:
        """Is there a point in [lo, hi)?"""
        return await self._edge(series, lo, hi, newest=False) is not None

    async def _edge(self, series: Series, lo: int, hi: int, newest: bool) -> int | None:
        """The time of the first (or with `newest` the last) point in [lo, hi)."""
        order = " ORDER BY time DESC" if newest else ""
        statement = (f"SELECT {quote_ident(series.field)} FROM {quote_ident(series.measurement)} "
                     f"WHERE {series.where(lo, hi)}{order} LIMIT 1")
        rows = await self._rows(statement)
        return int(rows[0][0]) if rows else None

    async def _long_steps(self, series: Series, lo: int, hi: int, threshold: float
                          ) -> list[tuple[int, int]] | None:
        """(time, seconds since the previous point) for every step longer than `threshold`
        between points in [lo, hi); None when the answer was truncated."""
        inner = (f"SELECT elapsed({quote_ident(series.field)}, 1s) FROM "
                 f"{quote_ident(series.measurement)} WHERE {series.where(lo, hi)}")
        statement = f'SELECT "elapsed" FROM ({inner}) WHERE "elapsed" > {float(threshold)!r}'
        self.queries += 1
        ends: list[tuple[int, int]] = []
        for answer in await self.ql.query(statement):
            if answer.get("partial"):
                return None
            ends.extend((int(t), int(step)) for t, step in answer.get("values") or [])
        ends.sort()
        return ends

    async def _rows(self, statement: str) -> list[list[object]]:
        self.queries += 1
        rows: list[list[object]] = []
        for answer in await self.ql.query(statement):
            rows.extend(answer.get("values") or [])
        return rows


def _next_size(size: int, took: float) -> int:
    """Double a chunk that answered fast, halve one that was slow (bounded)."""
    if took < TARGET_QUERY_SECONDS / 2:
        return min(MAX_CHUNK, size * 2)
    if took > TARGET_QUERY_SECONDS * 4:
        return max(MIN_CHUNK, size // 2)
    return size
