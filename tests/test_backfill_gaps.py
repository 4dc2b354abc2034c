"""Gap detection in a real InfluxDB, judged by a plain walk over the points the test wrote.

The oracle is the definition itself, written here from scratch: two consecutive points more than
the threshold apart bound a gap. It never calls `logger.sink.gaps`.
"""

from __future__ import annotations

import asyncio
import itertools
import random
from datetime import UTC, date, datetime

import pytest
from conftest import _require_influxd

from logger.config import InfluxSettings
from logger.core.belgian_time import BRUSSELS
from logger.sink import gaps as gaps_module
from logger.sink.gaps import MIN_CHUNK, Gap, GapFinder, Series, suspect_spans
from logger.sink.influxql import InfluxQL, QueryError
from logger.testbed.influxd import InfluxServer

SERIES = Series("power_flow", "grid_w", (("installation", "home"), ("source", "local")))
T = 15.0


@pytest.fixture
def private_influxd_factory():
    """A private influxd with some config changed (closed after the test)."""
    servers: list[InfluxServer] = []

    def make(extra: dict[tuple[str, str], str]) -> InfluxServer:
        servers.append(InfluxServer(_require_influxd(), extra_config=extra).start())
        return servers[-1]

    yield make
    for server in servers:
        server.close()


def walk(times: list[int], threshold: float, before: int | None = None,
         after: int | None = None) -> list[tuple[int, int]]:
    """The oracle: consecutive pairs (edges included) more than `threshold` apart."""
    edges = ([before] if before is not None else []) + sorted(times)
    edges += [after] if after is not None and times else []
    return [(a, b) for a, b in itertools.pairwise(edges) if b - a > threshold]


def write(influxd, db: str, times: list[int], tags: str = "installation=home,source=local",
          measurement: str = "power_flow", field: str = "grid_w") -> None:
    for i in range(0, len(times), 20000):
        influxd.write(db, "\n".join(f"{measurement},{tags} {field}={t % 977}.5 {t}"
                                    for t in times[i:i + 20000]))


def scan(influxd, db, start, end, threshold=T, before=None, after=None, series=SERIES):
    async def main():
        ql = InfluxQL(InfluxSettings(url=influxd.url, database=db, timeout=10.0))
        try:
            finder = GapFinder(ql, first_chunk=MIN_CHUNK)
            found = await finder.scan(series, start, end, threshold, before, after)
            return found, finder.queries
        finally:
            await ql.close()

    return asyncio.run(main())


def holes(rng: random.Random, start: int, end: int, step: int) -> list[int]:
    """Points every `step` s with holes of many lengths, many of them across hour (chunk)
    boundaries, some exactly at the threshold and one second over it."""
    removed: set[int] = set()
    for boundary in range(start + 3600, end, 3600):
        if rng.random() < 0.5:
            a = boundary - rng.randrange(1, 40) * step
            removed.update(range(a, a + rng.choice([2, 3, 4, 20, 200, 5000])))
    for _ in range(20):
        a = rng.randrange(start, end)
        removed.update(range(a, a + rng.randrange(1, 3000)))
    times = [t for t in range(start, end, step) if t not in removed]
    # exactly at the threshold (not a gap), and one second over it (a gap)
    for a, b in ((start + 20000, start + 20015), (start + 30000, start + 30016)):
        times = [t for t in times if not a < t < b] + [a, b]
    return sorted(set(times))


@pytest.mark.integration
def test_every_gap_longer_than_the_threshold_is_found_with_exact_edges(influxd, influx_db,
                                                                        monkeypatch):
    monkeypatch.setattr(gaps_module, "COUNT_BUCKETS", 6)  # count queries end on every hour
    rng = random.Random(10)
    start = int(datetime(2026, 3, 28, 12, tzinfo=UTC).timestamp())  # over the spring DST night
    end = start + 2 * 86400
    times = holes(rng, start, end, 5)
    write(influxd, influx_db, times)
    write(influxd, influx_db, [t + 2 for t in times], tags="installation=home,source=cloud")
    write(influxd, influx_db, list(range(start, end, 7)), tags="installation=other,source=local")

    found, queries = scan(influxd, influx_db, start, end)
    expected = walk(times, T)
    assert len(expected) > 20
    assert [(g.start, g.end) for g in found.gaps] == expected
    assert (found.first, found.last) == (times[0], times[-1])
    assert (start + 20000, start + 20015) not in expected  # exactly the threshold: no gap
    assert (start + 30000, start + 30016) in expected
    assert queries < 120  # grows with chunks and gaps, not with the 30,000 points

    # the window's edges count only when named
    found, _ = scan(influxd, influx_db, start - 600, end + 600, before=start - 601,
                    after=end + 600)
    assert [(g.start, g.end) for g in found.gaps] == walk(times, T, start - 601, end + 600)
    # a window starting and ending inside gaps: the inside edges are the window's
    a, b = expected[3]
    found, _ = scan(influxd, influx_db, a + 1, b, before=a, after=b)
    assert [(g.start, g.end) for g in found.gaps] == [(a, b)]


def dense_with_holes(start: int, end: int, rng: random.Random) -> list[int]:
    """1 s data (one point a second, as a 1 s poller writes) with holes placed against the
    counting buckets (10 min, and shifted by 5 min), at T = 3 (a gap leaves 3 seconds empty):
    first, in otherwise full buckets, holes across both kinds of boundary split 2+2, 1+2 and
    1+1 (a 3 s step: no gap), and holes ending exactly at a boundary or 1 s after it; then
    random holes and lone missing seconds that make buckets short without a gap in them."""
    removed: set[int] = set()
    base = start - start % 600 + 600
    shapes = [(-2, 2), (-1, 2), (-1, 1), (-10, 0), (-10, 1), (-2, 1), (-300, 2), (-3, 0)]
    for k, (before, after) in enumerate(shapes * 2):
        edge = base + 2 * k * 600 + (300 if k >= len(shapes) else 0)
        removed.update(range(edge + before, edge + after))
    busy = base + 2 * 600 * 2 * len(shapes)
    for k in range(0, (end - busy) // 600 - 8, 4):
        edge = busy + k * 600 + rng.choice([0, 300])
        before = rng.randrange(0, 4)
        removed.update(range(edge - before, edge - before + rng.choice([2, 3, 4, 7])))
    for k in range(2, (end - busy) // 600 - 8, 17):
        edge = busy + k * 600 + rng.choice([0, 300])
        removed.update(range(edge - rng.randrange(100, 2000), edge + rng.randrange(1, 5)))
    for _ in range(40):
        removed.add(rng.randrange(busy, end - 1))
    return [t for t in range(start, end) if t not in removed]


@pytest.mark.integration
def test_one_second_data_edges_against_the_counting_buckets(influxd, influx_db, monkeypatch):
    monkeypatch.setattr(gaps_module, "COUNT_BUCKETS", 7)  # count queries end every 70 min too
    start = int(datetime(2026, 10, 24, 20, 0, 17, tzinfo=UTC).timestamp())
    end = start + 86400 + 3 * 3600  # over the autumn DST night
    times = dense_with_holes(start, end, random.Random(3))
    write(influxd, influx_db, times)
    found, _ = scan(influxd, influx_db, start, end, threshold=3)
    expected = walk(times, 3)
    assert len(expected) > 30
    assert [(g.start, g.end) for g in found.gaps] == expected
    assert any(b - a == 4 for a, b in expected) and not any(b - a == 3 for a, b in expected)

    async def spans():
        ql = InfluxQL(InfluxSettings(url=influxd.url, database=influx_db))
        try:
            return await suspect_spans(GapFinder(ql), SERIES, times[0], times[-1] + 1, 3)
        finally:
            await ql.close()

    looked_at = sum(b - a for a, b in asyncio.run(spans()))
    assert looked_at < 0.5 * (end - start)  # elapsed() reads only around gaps and short buckets


@pytest.mark.integration
def test_a_window_without_points_is_one_gap_only_between_named_edges(influxd, influx_db):
    write(influxd, influx_db, [1_800_000_000])
    found, _ = scan(influxd, influx_db, 1_700_000_000, 1_700_086_400)
    assert found.gaps == [] and found.first is None
    found, _ = scan(influxd, influx_db, 1_700_000_000, 1_700_086_400, before=1_699_999_999,
                    after=1_700_086_400)
    assert [(g.start, g.end) for g in found.gaps] == [(1_699_999_999, 1_700_086_400)]


@pytest.mark.integration
def test_a_server_row_limit_makes_chunks_smaller_not_gaps_disappear(private_influxd_factory):
    server = private_influxd_factory({("http", "max-row-limit"): "4"})
    server.create_database("db")
    start = int(datetime(2026, 10, 24, 22, tzinfo=UTC).timestamp())
    times = [t for t in range(start, start + 86400, 5) if (t - start) % 1800 > 40]
    write(server, "db", times)
    found, _ = scan(server, "db", start, start + 86400)
    assert [(g.start, g.end) for g in found.gaps] == walk(times, T)
    assert len(found.gaps) == 47

    dense = [t for t in range(start + 86400, start + 86400 + 4 * 3600)
             if (t - start) % 1000 > 20]  # 1 s data: the count answers get truncated too
    write(server, "db", dense, tags="installation=dense,source=local")
    series = Series("power_flow", "grid_w", (("installation", "dense"), ("source", "local")))
    found, _ = scan(server, "db", start + 86400, start + 86400 + 4 * 3600, threshold=3,
                    series=series)
    assert [(g.start, g.end) for g in found.gaps] == walk(dense, 3)
    assert len(found.gaps) == 14

    crowded = [t for t in range(start, start + 3600, 5) if (t - start) % 300 > 40]
    write(server, "db", crowded, tags="installation=crowded,source=local")
    series = Series("power_flow", "grid_w", (("installation", "crowded"), ("source", "local")))
    with pytest.raises(QueryError, match="max-row-limit"):
        scan(server, "db", start, start + 3600, series=series)


def test_gap_days_are_the_belgian_days_it_covers_across_midnight_and_dst():
    def at(y, m, d, hh, mm, fold=0):
        return int(datetime(y, m, d, hh, mm, tzinfo=BRUSSELS, fold=fold).timestamp())

    assert Gap(at(2026, 3, 7, 23, 50), at(2026, 3, 8, 0, 10)).days() == [date(2026, 3, 7),
                                                                        date(2026, 3, 8)]
    assert Gap(at(2026, 3, 7, 23, 50), at(2026, 3, 8, 0, 0)).days() == [date(2026, 3, 7)]
    # the repeated autumn hour is one day; a gap ending at midnight does not touch the next
    assert Gap(at(2026, 10, 25, 2, 30), at(2026, 10, 25, 2, 10, fold=1)).days() == [
        date(2026, 10, 25)]
    assert Gap(at(2026, 3, 29, 1, 59), at(2026, 3, 29, 3, 1)).days() == [date(2026, 3, 29)]
