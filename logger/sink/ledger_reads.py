"""What the ledger reads from InfluxDB: raw counter readings, power profiles, raw point counts,
and the ledger's own earlier results. InfluxQL only (the one query path 1.x, 2.x and 3.x answer),
paged by time so memory stays bounded whatever the history's length.

The sink knows nothing of the ledger's rules: it answers plain questions (these fields of this
measurement in this window, grouped by these tags) with plain rows.

No query reaches further than the server allows (`logger.sink.windows`): pages and counts of
the raw series in windows (counts aligned to their buckets); the nearest points, and the
ledger's own measurements (a point per period: few files even on InfluxDB 3 Core), asked whole
and split only where the server refuses, merged so the answer is the one the whole range gives.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

from logger.sink.influxql import InfluxQL, QueryError, SpanRefused, quote_ident, quote_string
from logger.sink.windows import covering, each_window

DEFAULT_PAGE_S = 6 * 3600
PAGE_ROWS = 4000  # points per page the window aims at
MIN_PAGE_S = 60


class Truncated(QueryError):
    """The server cut an answer short (max-row-limit)."""


@dataclass(frozen=True, slots=True)
class Row:
    """One point of a series: its tags (those grouped by), time (epoch s) and field values."""

    tags: tuple[tuple[str, str], ...]
    time: int
    values: tuple[Any, ...]


class LedgerReads:
    """Queries for the ledger. `ledger_from` is the qualified `"db"."rp"` prefix of the ledger's
    own measurements (their retention policy or bucket is not the raw data's)."""

    def __init__(self, ql: InfluxQL, installation: str, ledger_from: str,
                 page_s: int = DEFAULT_PAGE_S) -> None:
        self.ql = ql
        self.installation = installation
        self.ledger_from = ledger_from
        self.page_s = page_s

    def _where(self, start: int, end: int, tags: dict[str, str] | None = None) -> str:
        parts = [f"installation = {quote_string(self.installation)}"]
        parts += [f"{quote_ident(k)} = {quote_string(v)}" for k, v in (tags or {}).items()]
        parts.append(f"time >= {start}s AND time < {end}s")
        return " AND ".join(parts)

    async def _select(self, statement: str) -> list[dict[str, Any]]:
        series = await self.ql.query(statement)
        if any(one.get("partial") for one in series):
            raise Truncated("InfluxDB truncated an answer (its max-row-limit)")
        return series

    @staticmethod
    def _rows(series: list[dict[str, Any]], group_by: Sequence[str]) -> list[Row]:
        rows: list[Row] = []
        for one in series:
            tags_in = one.get("tags") or {}
            tags = tuple((k, str(tags_in.get(k, ""))) for k in group_by)
            for values in one.get("values") or []:
                rows.append(Row(tags, int(values[0]), tuple(values[1:])))
        rows.sort(key=lambda r: r.time)
        return rows

    def _select_fields(self, fields: Sequence[str]) -> str:
        return ", ".join(quote_ident(f) for f in fields)

    def _group(self, group_by: Sequence[str]) -> str:
        return f" GROUP BY {', '.join(quote_ident(t) for t in group_by)}" if group_by else ""

    async def rows(self, measurement: str, fields: Sequence[str], start: int, end: int,
                   group_by: Sequence[str] = (), tags: dict[str, str] | None = None
                   ) -> AsyncIterator[list[Row]]:
        """Every point in [start, end), one page (time window) at a time, in time order.

        The window adapts to the data's density so a page holds about `PAGE_ROWS` points (1 s
        P1 readings and 5 s meter readings alike), which bounds memory. A server with a
        `max-row-limit` (10,000 in many 1.x configs) truncates a large answer and says so: the
        window is then halved and the page read again."""
        span = await self.ql.read_span()
        lo, window = start, self.page_s
        while lo < end:
            if span.seconds is not None:
                window = min(window, span.seconds)
            hi = min(end, lo + window)
            statement = (f"SELECT {self._select_fields(fields)} FROM {self.ql.source(measurement)} "
                         f"WHERE {self._where(lo, hi, tags)}{self._group(group_by)}")
            try:
                page = self._rows(await self._select(statement), group_by)
            except SpanRefused:
                if not span.narrow(hi - lo):
                    raise
                continue
            except Truncated:
                if window <= MIN_PAGE_S:
                    raise
                window = max(MIN_PAGE_S, window // 2)
                continue
            if page:
                yield page
            lo = hi
            scaled = window * PAGE_ROWS // max(len(page), 1)
            window = max(MIN_PAGE_S, min(self.page_s, scaled))

    async def nearest(self, measurement: str, fields: Sequence[str], at: int, before: bool,
                      group_by: Sequence[str] = (), tags: dict[str, str] | None = None,
                      horizons: Sequence[int] = (86400, 31 * 86400, 400 * 86400)) -> list[Row]:
        """The last point before `at` (or the first at or after it) of each series, looking
        at most the longest horizon away; one selector, so the answer carries its real time."""
        selector = "LAST" if before else "FIRST"
        first, *rest = fields
        columns = ", ".join([f"{selector}({quote_ident(first)})",
                             *(quote_ident(f) for f in rest)])
        span = await self.ql.read_span()

        async def read(lo: int, hi: int) -> list[Row]:
            statement = (f"SELECT {columns} FROM {self.ql.source(measurement)} "
                         f"WHERE {self._where(lo, hi, tags)}{self._group(group_by)}")
            return self._rows(await self._select(statement), group_by)

        for horizon in horizons:
            lo, hi = (at - horizon, at) if before else (at, at + horizon)
            rows = _nearest_per_series(await covering(span, lo, hi, read), before)
            if rows:
                return rows
        return []

    async def count(self, measurement: str, field: str, start: int, end: int,
                    tags: dict[str, str] | None = None) -> int:

        async def read(lo: int, hi: int) -> int:
            statement = (f"SELECT COUNT({quote_ident(field)}) FROM {self.ql.source(measurement)} "
                         f"WHERE {self._where(lo, hi, tags)}")
            series = await self._select(statement)
            return sum(int(v[1] or 0) for s in series for v in s.get("values") or [])

        return sum(await each_window(await self.ql.read_span(), start, end, read))

    async def counts(self, measurement: str, field: str, start: int, end: int, bucket_s: int,
                     tags: dict[str, str] | None = None, ledger: bool = False) -> dict[int, int]:
        """Points per `bucket_s` window in [start, end) (windows without points left out)."""
        source = self._ledger(measurement) if ledger else self.ql.source(measurement)

        async def read(lo: int, hi: int) -> dict[int, int]:
            statement = (f"SELECT COUNT({quote_ident(field)}) FROM {source} "
                         f"WHERE {self._where(lo, hi, tags)} GROUP BY time({bucket_s}s)")
            series = await self._select(statement)
            return {int(v[0]): int(v[1]) for s in series for v in s.get("values") or [] if v[1]}

        merged: dict[int, int] = {}
        for part in await each_window(await self.ql.read_span(), start, end, read, bucket_s):
            merged.update(part)
        return merged

    async def last_time(self, measurement: str, field: str, start: int, end: int) -> int | None:
        rows = await self.nearest(measurement, [field], end, before=True,
                                  horizons=(max(1, end - start),))
        return max((r.time for r in rows), default=None)

    def _ledger(self, measurement: str) -> str:
        return f"{self.ledger_from}.{quote_ident(measurement)}"

    async def _select_ledger(self, statement: str) -> list[dict[str, Any]]:
        """A query of the ledger's own policy; no answer when it does not exist yet (a dry run
        before the migrations)."""
        try:
            return await self._select(statement)
        except SpanRefused:
            raise
        except QueryError as exc:
            if _place_missing(str(exc)):
                return []
            raise

    async def ledger_first(self, measurement: str, field: str, until: int) -> int | None:
        """The time of the oldest point of one of the ledger's own measurements before `until`
        (e.g. imported history that is older than every raw reading)."""

        async def read(lo: int, hi: int) -> list[dict[str, Any]]:
            return await self._select_ledger(
                f"SELECT FIRST({quote_ident(field)}) FROM {self._ledger(measurement)} "
                f"WHERE {self._where(lo, hi)}")

        pieces = await covering(await self.ql.read_span(), 0, until, read)
        return min((int(v[0]) for series in pieces for s in series
                    for v in s.get("values") or []), default=None)

    async def ledger_rows(self, measurement: str, fields: Sequence[str], start: int, end: int,
                          tags: dict[str, str], group_by: Sequence[str] = ()) -> list[Row]:
        """The ledger's own points (small: days, months, peaks) in [start, end)."""

        async def read(lo: int, hi: int) -> list[Row]:
            series = await self._select_ledger(
                f"SELECT {self._select_fields(fields)} FROM {self._ledger(measurement)} "
                f"WHERE {self._where(lo, hi, tags)}{self._group(group_by)}")
            return self._rows(series, group_by)

        parts = await covering(await self.ql.read_span(), start, end, read)
        return sorted((row for part in parts for row in part), key=lambda r: r.time)


def _place_missing(text: str) -> bool:
    """The ledger's policy, bucket or database does not exist (yet): 1.x and 2.x say "retention
    policy not found" / "database not found: x", InfluxDB 3 "Database jullix/ledger not found"."""
    lowered = text.lower()
    return ("retention policy not found" in lowered or "database not found" in lowered
            or (lowered.startswith("database ") and lowered.endswith(" not found")))


def _nearest_per_series(pieces: list[list[Row]], before: bool) -> list[Row]:
    """Of the pieces' rows, per series (tags) the latest (`before`) or the earliest one."""
    best: dict[tuple[tuple[str, str], ...], Row] = {}
    for rows in pieces:
        for row in rows:
            kept = best.get(row.tags)
            if kept is None or (row.time > kept.time if before else row.time < kept.time):
                best[row.tags] = row
    return sorted(best.values(), key=lambda r: r.time)
