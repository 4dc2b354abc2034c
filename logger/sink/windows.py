"""Reads bounded by the server: a long range cut into windows no longer than it allows.

InfluxDB 3 Core refuses a query that would read more than 432 Parquet files (about 72 h of a
table written steadily), and never compacts; other servers may be given a bound by the user
(`[influx] max_query_span`). Every read that can span long ranges goes through here, so the
rule lives in one place:

- `split` cuts [start, end) into windows of at most the span, their edges on multiples of
  `align` (+ `offset`): a `GROUP BY time(w, offset)` read in windows aligned to its buckets
  returns exactly the buckets the whole read would, so sums, counts and gaps do not change.
- `each_window` reads window by window (in time order) and, when the server still refuses one
  as too long (`SpanRefused`: Core's file limit after late writes fragmented a day), halves the
  span, remembers it for every later read of this reader, and reads that window again in
  smaller pieces. Results are the same, only the number of queries grows.
- `covering` and `first_answer` are for lookups of the nearest point(s) (a `LIMIT 1`, a
  `LAST()` per series): they ask the whole range and split only where the server refuses it.
  Core counts the files a range touches, not its length, so an empty month or the years before
  the first reading cost one query; a window bound would cost one query per window of nothing.

Reads that must see across a window's edge (a gap between the last point of one window and
the first of the next) carry that point themselves (`logger.sink.gaps`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from logger.sink.query_errors import SpanRefused

T = TypeVar("T")
MIN_SPAN_S = 600  # narrower than one 10-minute file of Core it cannot help
Read = Callable[[int, int], Awaitable[T]]


class ReadSpan:
    """How far one query may reach, in seconds (None: as far as the caller asks). Narrowed,
    never widened, when the server refuses a window: the reason (fragmented files) stays."""

    def __init__(self, seconds: int | None) -> None:
        self.seconds = seconds

    def narrow(self, tried: int) -> bool:
        """After a refusal of a `tried` s window: halve; False when it cannot shrink more."""
        smaller = max(MIN_SPAN_S, tried // 2)
        if smaller >= tried:
            return False
        self.seconds = smaller if self.seconds is None else min(self.seconds, smaller)
        return True


def split(start: int, end: int, span: int | None, align: int = 1, offset: int = 0
          ) -> list[tuple[int, int]]:
    """[start, end) as windows of at most `span` s (at least one `align` each), every inner
    edge on `k * align + offset`."""
    if start >= end:
        return []
    if span is None or end - start <= span:
        return [(start, end)]
    step = max(align, span // align * align)
    windows: list[tuple[int, int]] = []
    lo = start
    while lo < end:
        edge = (lo - offset) // align * align + offset + step  # aligned, at most `step` on
        hi = min(end, edge)
        windows.append((lo, hi))
        lo = hi
    return windows


async def each_window(span: ReadSpan, start: int, end: int, read: Read[T], align: int = 1,
                      offset: int = 0) -> list[T]:
    """`read(lo, hi)` for every window of [start, end), in time order; after a refusal the
    rest of the range is cut at the narrower span."""
    results: list[T] = []
    lo = start
    while lo < end:
        hi = split(lo, end, span.seconds, align, offset)[0][1]
        try:
            results.append(await read(lo, hi))
        except SpanRefused:
            if hi - lo <= align or not span.narrow(hi - lo):
                raise
            continue
        lo = hi
    return results


async def covering(span: ReadSpan, start: int, end: int, read: Read[T]) -> list[T]:
    """`read` over [start, end) asked whole, split in halves only where refused; the answers
    of the pieces in time order (their union is the whole range's answer)."""
    try:
        return [await read(start, end)]
    except SpanRefused:
        if end - start <= MIN_SPAN_S:
            raise
        span.narrow(end - start)
    middle = start + (end - start) // 2
    return [*await covering(span, start, middle, read), *await covering(span, middle, end, read)]


async def first_answer(span: ReadSpan, start: int, end: int, read: Read[T | None],
                       newest: bool = False) -> T | None:
    """The answer of the oldest (with `newest`: the newest) piece of [start, end) that has
    one; asked whole, split in halves only where refused, the wanted half first."""
    try:
        return await read(start, end)
    except SpanRefused:
        if end - start <= MIN_SPAN_S:
            raise
        span.narrow(end - start)
    middle = start + (end - start) // 2
    halves = [(middle, end), (start, middle)] if newest else [(start, middle), (middle, end)]
    for lo, hi in halves:
        found = await first_answer(span, lo, hi, read, newest)
        if found is not None:
            return found
    return None
