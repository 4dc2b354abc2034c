"""Where a series in InfluxDB has holes, found without reading its points into Python.

A gap is the open interval between two consecutive points of a series that lie more than a
threshold apart (see `logger.app.backfill` for which series and why). Its edges are the two
points' own timestamps, to the second.

Why not read the timestamps
---------------------------
A year of 1 s data is 31.6 million timestamps: as Python lists and a set, gigabytes, far past a
Raspberry Pi. InfluxDB answers the question itself, and only the answers cross the wire, so
memory here grows with the number of gaps, never with the number of points:

1. Where can a gap be? `SELECT count(f) ... GROUP BY time(10m) fill(0)`, twice (the second grid
   shifted by half a bucket), 16 days per query. A bucket that misses fewer seconds than a gap
   leaves empty cannot hold one; `suspect_spans` has the proof. This is InfluxDB's cheapest
   read (about 7x cheaper than step 2 per point, measured on 1.6), and for 1 s data it leaves
   a bucket or two around each gap. For sparser data (a 5 s poll) no bucket proves anything
   and the whole window goes to step 2 (the second grid is then not even asked).
2. Exactly where: in those spans only,

       SELECT "elapsed" FROM (SELECT elapsed("grid_w", 1s) FROM "power_flow"
                              WHERE <tags> AND time >= LO AND time < HI)
       WHERE "elapsed" > T AND time >= LO AND time < HI

   Each row is the point that ends a gap (its time) and the distance to the point before it,
   so both edges are exact to the second; a span holds both edges of each gap in it (proof
   in `suspect_spans`). Long spans are walked in chunks sized so that a query takes about a
   second, each starting at the last point of the chunk before.

InfluxDB 1.x, 2.x (`/query` with DBRP) and 3.x all answer this InfluxQL (`elapsed()`,
subqueries, `GROUP BY time(.., offset)` and `fill()` are on the 3.x InfluxQL support list).
Every read stays within the server's bound (`logger.sink.windows`): the counts in windows
aligned to their buckets, the `elapsed()` chunks no longer than the span (each still starting
at the last point before it, so a gap across a window's edge is found whole, both edges
exact), the first and last point asked over the whole range and split only where refused.
InfluxDB still reads every timestamp once in step 1: no InfluxQL aggregate proves that a
stretch has no hole without looking at it. Time here is UTC epoch seconds throughout: buckets,
chunks and DST have nothing to do with each other (Belgian days matter only for which cloud
days to fetch, `Gap.days`).
"""

from __future__ import annotations

import time
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from logger.core.belgian_time import brussels_day, local_time
from logger.core.durations import human_duration
from logger.sink.influxql import InfluxQL, QueryError, SpanRefused, quote_ident, quote_string
from logger.sink.windows import each_window, first_answer

MIN_CHUNK = 3600  # seconds; a chunk that still overflows the row limit at this size is an error
MAX_CHUNK = 32 * 86400
FIRST_CHUNK = 86400
TARGET_QUERY_SECONDS = 1.0  # chunks grow while a query is faster, shrink when much slower
BUCKET = 600  # seconds per counting bucket (at least; see suspect_spans)
COUNT_BUCKETS = 16 * 144  # buckets per count query: 16 days of 10 min, well under row limits


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
        """`2026-11-26 10:00:00 CET .. 2026-11-26 10:20:00 CET (20 min)`: Belgian time."""
        return (f"{local_time(self.start)} .. {local_time(self.end)} "
                f"({human_duration(self.seconds)})")


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
        first = await self._edge(series, start, end, newest=False)
        if first is None:
            if before is not None and after is not None and after - before > threshold:
                found.gaps.append(Gap(before, after))
            return found
        last = await self._edge(series, start, end, newest=True)
        assert last is not None
        found.first, found.last = first, last
        if before is not None and first - before > threshold:
            found.gaps.append(Gap(before, first))
        for lo, hi in await suspect_spans(self, series, first, last + 1, threshold):
            found.gaps.extend(await self._exact(series, lo, hi, threshold))
        if after is not None and after - last > threshold:
            found.gaps.append(Gap(last, after))
        return found

    async def _exact(self, series: Series, lo: int, hi: int, threshold: float,
                     limit: int | None = None) -> list[Gap]:
        """The gaps with both edges in [lo, hi) (the first `limit` only), with `elapsed()`
        in chunks no longer than the server allows, each carrying the last point of the
        one before (so a step across a chunk's edge is seen)."""
        span = await self.ql.read_span()
        gaps: list[Gap] = []
        prev: int | None = None
        size = self.first_chunk
        while lo < hi and (limit is None or len(gaps) < limit):
            if span.seconds is not None:
                size = min(size, span.seconds)
            chunk_hi = min(hi, lo + size)
            began = time.monotonic()
            try:
                ends = await self._long_steps(series, lo if prev is None else prev, chunk_hi,
                                              threshold, limit)
            except SpanRefused:
                if not span.narrow(chunk_hi - lo):
                    raise
                continue
            took = time.monotonic() - began
            if ends is None:  # more gaps than the server returns rows: a smaller chunk
                if chunk_hi - lo <= MIN_CHUNK:
                    raise QueryError(f"InfluxDB truncated the gap list of {series.measurement} "
                                     f"even for one hour (max-row-limit too low)")
                size = max(MIN_CHUNK, (chunk_hi - lo) // 2)
                continue
            gaps.extend(Gap(t - step, t) for t, step in ends)
            if chunk_hi < hi:  # carry the chunk's last point into the next chunk
                last = await self._edge(series, lo, chunk_hi, newest=True)
                prev = last if last is not None else prev
            lo = chunk_hi
            size = _next_size(size, took)
        return gaps if limit is None else gaps[:limit]

    async def counts(self, series: Series, lo: int, hi: int, width: int, offset: int
                     ) -> list[tuple[int, int, int]] | None:
        """(start, end, points) of the `width` s buckets (shifted by `offset`) over [lo, hi),
        clipped to it; None when the server truncated the answer. Read in windows aligned to
        the buckets, so no bucket is cut in two."""

        async def window(w_lo: int, w_hi: int) -> list[tuple[int, int, int]] | None:
            statement = (f"SELECT count({quote_ident(series.field)}) FROM "
                         f"{self.ql.source(series.measurement)} WHERE {series.where(w_lo, w_hi)} "
                         f"GROUP BY time({width}s, {offset}s) fill(0)")
            self.queries += 1
            buckets: list[tuple[int, int, int]] = []
            for answer in await self.ql.query(statement):
                if answer.get("partial"):
                    return None
                for t, count in answer.get("values") or []:
                    start, end = max(w_lo, int(t)), min(w_hi, int(t) + width)
                    if start < end:
                        buckets.append((start, end, int(count or 0)))
            return buckets

        parts = await each_window(await self.ql.read_span(), lo, hi, window, width, offset)
        if any(part is None for part in parts):
            return None
        return [bucket for part in parts if part is not None for bucket in part]

    async def has_gap(self, series: Series, lo: int, hi: int, threshold: float, before: int,
                      after: int) -> bool:
        """Is there a gap in [lo, hi), counting `before` and `after` as points? Stops at the
        first one (at most four queries, whatever the span)."""
        first = await self._edge(series, lo, hi, newest=False)
        if first is None:
            return after - before > threshold
        if first - before > threshold:
            return True
        last = await self._edge(series, lo, hi, newest=True)
        assert last is not None
        if after - last > threshold:
            return True
        return await self._exact(series, first, last + 1, threshold, limit=1) != []

    async def has_point(self, series: Series, lo: int, hi: int) -> bool:
        """Is there a point in [lo, hi)?"""
        return await self._edge(series, lo, hi, newest=False) is not None

    async def _edge(self, series: Series, lo: int, hi: int, newest: bool) -> int | None:
        """The time of the first (or with `newest` the last) point in [lo, hi)."""
        order = " ORDER BY time DESC" if newest else ""

        async def edge(w_lo: int, w_hi: int) -> int | None:
            statement = (f"SELECT {quote_ident(series.field)} FROM "
                         f"{self.ql.source(series.measurement)} WHERE "
                         f"{series.where(w_lo, w_hi)}{order} LIMIT 1")
            rows = await self._rows(statement)
            return int(rows[0][0]) if rows else None

        return await first_answer(await self.ql.read_span(), lo, hi, edge, newest)

    async def _long_steps(self, series: Series, lo: int, hi: int, threshold: float,
                          limit: int | None = None) -> list[tuple[int, int]] | None:
        """(time, seconds since the previous point) for every step longer than `threshold`
        between points in [lo, hi) (the first `limit` only); None when the answer was
        truncated."""
        inner = (f"SELECT elapsed({quote_ident(series.field)}, 1s) FROM "
                 f"{self.ql.source(series.measurement)} WHERE {series.where(lo, hi)}")
        # The time range again outside: without it InfluxDB 1.x reads far beyond it (a query
        # over 20 minutes of a year of 1 s data took 0.5 s instead of 0.01 s).
        statement = (f'SELECT "elapsed" FROM ({inner}) WHERE "elapsed" > {float(threshold)!r} '
                     f"AND time >= {lo}s AND time < {hi}s")
        if limit is not None:
            statement += f" LIMIT {limit}"
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


def bucket_width(threshold: float) -> int:
    """Seconds per counting bucket (even, and W/2 >= 2h - 1: see `suspect_spans`)."""
    return max(BUCKET, 4 * int(threshold))


async def suspect_spans(finder: GapFinder, series: Series, lo: int, hi: int,
                        threshold: float) -> list[tuple[int, int]]:
    """The parts of [lo, hi) that may hold a gap; everywhere else, provably none.

    Points sit on whole seconds, one per second at most (a series holds one point per
    timestamp, and the logger stamps whole seconds). A gap (p, q) leaves the run of h =
    floor(T) or more seconds between p and q empty. A bucket of L seconds with c points misses
    L - c seconds; if that is less than h, no such run fits into it. Buckets are W seconds
    long, W/2 >= 2h - 1, in two grids, the second shifted by W/2; a bucket missing h seconds
    or more is "suspect". Every second of the run lies in a suspect bucket: of the two buckets
    holding a second z of the run, one reaches W/2 seconds left of z, the other W/2 seconds
    right of it, and if both held fewer than h seconds of the run, the run would have to end
    before the right one's end and begin after the left one's start, which needs W/2 < 2h - 1.
    q lies in one too: of the two buckets holding x = q - 1, at most one ends at x; if the one
    holding q began fewer than h seconds before x, the other one began W/2 earlier and ends
    W/2 later, holds q, and at least h seconds of the run. Mirrored, the same for p. So p and
    q lie in one span of merged suspect buckets, and `elapsed()` over the spans finds every
    gap, both edges exact. For 1 s data the spans are a bucket or two around each gap and
    around buckets with lost seconds; for sparser data (5 s polls) every bucket is suspect and
    the whole window gets `elapsed()`. Where nothing can be proven (a truncated or empty
    answer, a chunk without one full bucket), the whole chunk is suspect.
    """
    h = int(threshold)
    width = bucket_width(threshold)
    if h < 1:
        return [(lo, hi)]
    spans: list[tuple[int, int]] = []
    chunk_lo = lo
    while chunk_lo < hi:
        chunk_hi = min(hi, (chunk_lo // width + COUNT_BUCKETS) * width)
        spans += await _chunk_suspects(finder, series, chunk_lo, chunk_hi, lo, hi, h, width)
        chunk_lo = chunk_hi
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


async def _chunk_suspects(finder: GapFinder, series: Series, chunk_lo: int, chunk_hi: int,
                          lo: int, hi: int, h: int, width: int) -> list[tuple[int, int]]:
    whole = [(chunk_lo, chunk_hi)]
    grid = await finder.counts(series, chunk_lo, chunk_hi, width, 0)
    if not grid or any(count > end - start for start, end, count in grid):
        return whole  # truncated, empty, or points closer than a second: no proof here
    suspects = [(start, end) for start, end, count in grid if end - start - count >= h]
    if len(suspects) == len(grid):
        return whole  # sparse data (or a long outage): elapsed() everywhere, no second grid
    shifted = await finder.counts(series, max(lo, chunk_lo - width // 2),
                                  min(hi, chunk_hi + width // 2), width, width // 2)
    if not shifted or any(count > end - start for start, end, count in shifted):
        return whole
    return suspects + [(start, end) for start, end, count in shifted if end - start - count >= h]
