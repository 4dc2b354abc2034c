"""(issue 24) Reads bounded by the server do not change results.

`logger.sink.windows` cuts long reads into windows (aligned to their buckets) and splits a
window the server refuses. Here: the cutting itself, then gap detection over a year of history
and the ledger over days around a month boundary, read through every flavour (InfluxDB 3 Core's
reproduction with its file limit, one so small that it refuses the automatic 24 h windows, and
the real 1.6 with a 6 h `max_query_span`, its window edges placed on purpose inside gaps),
against an oracle written plainly here and against the unbounded 1.6.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import datetime
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from flavour_v3 import Core
from flavours import start
from ledger_data import simulate

from logger.app.ledger_build import LedgerBuilder
from logger.app.ledger_job import make_reads
from logger.config import InfluxSettings, Settings
from logger.core.logs import get_logger
from logger.core.problems import Problems
from logger.sink.gaps import GapFinder, Series
from logger.sink.influxql import InfluxQL, SpanRefused
from logger.sink.windows import ReadSpan, covering, each_window, first_answer, split

DAY = 86400
STEP = 300  # the year's cadence: one point per 5 minutes
THRESHOLD = 900.0
YEAR_START = 1_767_225_600  # 2026-01-01T00:00:00Z
YEAR_END = YEAR_START + 366 * DAY
SERIES = Series("power_flow", "grid_w", (("installation", "yr"), ("source", "local")))


# -- the cutting ----------------------------------------------------------------------------

@pytest.mark.parametrize(("start", "end", "span", "align", "offset"), [
    (0, 100, None, 1, 0), (5, 1000, 100, 1, 0), (7, 100_000, 3600, 600, 0),
    (123, 200_000, 7200, 600, 300), (1_000_003, 1_090_000, 86400, 3600, 0)])
def test_windows_cover_the_range_once_within_the_span_on_bucket_edges(start, end, span, align,
                                                                        offset):
    windows = split(start, end, span, align, offset)
    assert windows[0][0] == start and windows[-1][1] == end
    assert all(a[1] == b[0] for a, b in pairwise(windows))
    assert all(lo < hi and (span is None or hi - lo <= max(span, align)) for lo, hi in windows)
    assert all((hi - offset) % align == 0 for _, hi in windows[:-1])


def test_a_refused_window_is_read_again_in_halves_and_the_span_remembers_it():
    span, asked = ReadSpan(8 * 3600), []

    async def read(lo: int, hi: int) -> int:
        asked.append((lo, hi))
        if hi - lo > 3 * 3600:
            raise SpanRefused("Query would scan 432 Parquet files, exceeding the file limit.")
        return hi - lo

    total = asyncio.run(each_window(span, 0, 24 * 3600, read, 600))
    assert sum(total) == 24 * 3600 and span.seconds == 2 * 3600
    assert [hi - lo for lo, hi in asked[:3]] == [8 * 3600, 4 * 3600, 2 * 3600]
    assert all(hi - lo == 2 * 3600 for lo, hi in asked[2:])  # the rest at the narrower span


def test_lookups_ask_the_whole_range_and_split_only_where_refused():
    points = [10_000, 500_000]

    def reader(calls):
        async def read(lo: int, hi: int) -> list[int]:
            calls.append((lo, hi))
            inside = [p for p in points if lo <= p < hi]
            if len(inside) > 1:
                raise SpanRefused("exceeding the file limit")
            return inside
        return read

    calls: list = []
    assert asyncio.run(covering(ReadSpan(None), 0, 1_000_000, reader(calls))) == [[10_000],
                                                                                  [500_000]]
    calls = []
    newest = asyncio.run(first_answer(ReadSpan(None), 0, 1_000_000,
                                      _first(reader(calls)), newest=True))
    assert newest == 500_000 and len(calls) == 2  # refused whole, then the newer half


def _first(read):
    async def first(lo, hi):
        found = await read(lo, hi)
        return max(found) if found else None
    return first


# -- a year of history, gap by gap ------------------------------------------------------------

def holes() -> list[tuple[int, int]]:
    """Stretches [x, y) without points: across every 6 h edge of the window grid the reads
    could use (from the first point, and on UTC multiples), and random ones."""
    rng = random.Random(24)
    wanted = [(YEAR_START + k * 21600 - 1500, YEAR_START + k * 21600 + 1800)
              for k in range(1, 366 * 4, 5)]
    for _ in range(60):
        x = rng.randrange(YEAR_START + DAY, YEAR_END - DAY) // STEP * STEP
        wanted.append((x, x + rng.choice([1200, 3600, 6 * 3600, 2 * DAY])))
    kept: list[tuple[int, int]] = []
    for x, y in sorted(wanted):
        if kept and x <= kept[-1][1] + STEP:
            kept[-1] = (kept[-1][0], max(kept[-1][1], y))
        else:
            kept.append((x, y))
    return kept


def year_times() -> list[int]:
    removed = holes()
    times, i = [], 0
    for t in range(YEAR_START, YEAR_END, STEP):
        while i < len(removed) and removed[i][1] <= t:
            i += 1
        if not (i < len(removed) and removed[i][0] <= t < removed[i][1]):
            times.append(t)
    return times


def oracle(times: list[int]) -> list[tuple[int, int]]:
    return [(a, b) for a, b in pairwise(times) if b - a > THRESHOLD]


@pytest.fixture(scope="module")
def year(influxd):
    db = f"year_{uuid.uuid4().hex[:8]}"
    influxd.create_database(db)
    times = year_times()
    body = "\n".join(f"power_flow,installation=yr,source=local grid_w={t % 3000}.5 {t}"
                     for t in times).encode()
    influxd.write(db, body.decode())
    yield db, body, oracle(times)
    influxd.drop_database(db)


CASES = [("1.6", {}), ("1.6", {"max_query_span": "6h"}), ("1.8", {}), ("2.7", {}),
         ("3 Core", {}), ("3 Core", {"file_limit": 100}), ("3 Enterprise", {}),
         ("Cloud Serverless", {})]


def _flavoured(name, options, influxd, db, body):
    file_limit = options.get("file_limit")
    flavour = start(name, influxd.url, **({"file_limit": file_limit} if file_limit else {}))
    flavour.prepare(db)
    if isinstance(flavour.proxy, Core):
        flavour.proxy.register(db, body)
    extra = {k: v for k, v in options.items() if k != "file_limit"}
    return flavour, InfluxSettings(**flavour.influx(db, **extra))


@pytest.mark.parametrize(("name", "options"), CASES, ids=[f"{n}{o}" for n, o in CASES])
def test_gap_detection_over_a_year_finds_every_gap_whole(name, options, influxd, year):
    db, body, expected = year
    flavour, influx = _flavoured(name, options, influxd, db, body)

    async def scan():
        ql = InfluxQL(influx)
        try:
            finder = GapFinder(ql)
            found = await finder.scan(SERIES, YEAR_START, YEAR_END, THRESHOLD)
            return found, finder.queries, (await ql.read_span()).seconds
        finally:
            await ql.close()

    try:
        found, queries, span = asyncio.run(scan())
    finally:
        flavour.stop()
    assert [(g.start, g.end) for g in found.gaps] == expected
    assert len(expected) > 300  # every 6 h edge hole and the random ones
    if name == "3 Core":
        # Lookups ask the whole year and are refused (then split); the scans are refused
        # only when the file limit is below a day's 144 files, and the span narrows.
        assert flavour.proxy.refusals > 0
        assert (span < DAY) is ("file_limit" in options), span
        assert queries > 2 * 366  # a year in windows of a day at most
    if options.get("max_query_span"):
        assert span == 6 * 3600


# -- the ledger over days around a month boundary ----------------------------------------------

BRUSSELS = ZoneInfo("Europe/Brussels")
LEDGER_FROM = datetime(2026, 10, 30, 22, 0, tzinfo=BRUSSELS)
LEDGER_TO = datetime(2026, 11, 2, 2, 0, tzinfo=BRUSSELS)


@pytest.fixture(scope="module")
def days(influxd):
    db = f"days_{uuid.uuid4().hex[:8]}"
    influxd.create_database(db)
    history = simulate(LEDGER_FROM, LEDGER_TO, step=60, installation="yr")
    body = "\n".join(history.lines).encode()
    influxd.write(db, body.decode())
    yield db, body
    influxd.drop_database(db)


def ledger_rows(influx: InfluxSettings) -> list:
    settings = Settings(installation="yr", influx=influx.model_dump())

    async def build():
        ql = InfluxQL(settings.influx)
        try:
            builder = LedgerBuilder(settings, make_reads(settings, ql), lambda points: None,
                                    Problems(get_logger("test")), keep_rows=True)
            wanted = [datetime(2026, 10, 31).date(), datetime(2026, 11, 1).date()]
            return (await builder.run(wanted)).rows
        finally:
            await ql.close()

    return asyncio.run(build())


@pytest.fixture(scope="module")
def reference(influxd, days):
    return ledger_rows(InfluxSettings(url=influxd.url, database=days[0]))


LEDGER_CASES = [("1.6", {"max_query_span": "2h"}), ("1.8", {}), ("2.7", {}), ("3 Core", {}),
                ("3 Core", {"file_limit": 30}), ("3 Enterprise", {}), ("Cloud Serverless", {})]


@pytest.mark.parametrize(("name", "options"), LEDGER_CASES,
                         ids=[f"{n}{o}" for n, o in LEDGER_CASES])
def test_the_ledger_is_the_same_through_every_flavour(name, options, influxd, days, reference):
    db, body = days
    flavour, influx = _flavoured(name, options, influxd, db, body)
    try:
        rows = ledger_rows(influx)
    finally:
        flavour.stop()
    assert len(reference) > 2 * 96 and rows == reference
    if "file_limit" in options:
        assert flavour.proxy.refusals > 0
