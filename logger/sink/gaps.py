"""Where a series in InfluxDB has holes: the reads gap detection needs.

A gap is the open interval between two consecutive points of a series that lie more than a
threshold apart (see `logger.app.backfill` for which series and why).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from logger.core.belgian_time import brussels_day
from logger.core.durations import human_duration
from logger.sink.influxql import InfluxQL, QueryError, quote_ident, quote_string


@dataclass(frozen=True, order=True)
class Gap:
    """No local point strictly between `start` and `end` (epoch seconds)."""

    start: int
    end: int

    @property
    def seconds(self) -> int:
        return self.end - self.start

    def contains(self, moment: int) -> bool:
        return self.start < moment < self.end

    def days(self) -> list[date]:
        first, last = brussels_day(self.start + 1), brussels_day(self.end - 1)
        return [first + timedelta(days=i) for i in range((last - first).days + 1)]

    def describe(self) -> str:
        def fmt(t: int) -> str:
            return datetime.fromtimestamp(t, UTC).astimezone().strftime("%Y-%m-%d %H:%M:%S%z")

        return f"{fmt(self.start)} .. {fmt(self.end)} ({human_duration(self.seconds)})"


def find_gaps(times: Sequence[int], start: int, end: int, threshold: float,
              leading: bool = False, trailing: bool = False) -> list[Gap]:
    """Gaps of a sorted list of point times within [start, end) (see the module doc)."""
    inside = [t for t in times if start <= t < end]
    if not inside:
        return [Gap(start - 1, end)] if leading and end - start > threshold else []
    gaps = []
    if leading and inside[0] - start > threshold:
        gaps.append(Gap(start - 1, inside[0]))
    gaps.extend(Gap(a, b) for a, b in itertools.pairwise(inside) if b - a > threshold)
    if trailing and end - inside[-1] > threshold:
        gaps.append(Gap(inside[-1], end))
    return gaps


async def series_times(ql: InfluxQL, measurement: str, field_name: str, installation: str,
                       start: int, end: int, chunk: int, source: str | None = None
                       ) -> list[int]:
    """Sorted epoch seconds of the points of one series in [start, end), queried in chunks."""
    where = f"installation = {quote_string(installation)}"
    if source is not None:
        where += f" AND source = {quote_string(source)}"
    times: list[int] = []
    lo = start
    while lo < end:
        hi = min(end, lo + chunk)
        statement = (f"SELECT {quote_ident(field_name)} FROM {quote_ident(measurement)} "
                     f"WHERE {where} AND time >= {lo}s AND time < {hi}s")
        for series in await ql.query(statement):
            if series.get("partial"):
                raise QueryError(f"InfluxDB truncated the answer for {measurement} "
                                 "(max-row-limit); lower the chunk size")
            times.extend(int(row[0]) for row in series.get("values") or [])
        lo = hi
    return sorted(set(times))
