"""Fetching day-ahead prices from the simulator's fake Transparency Platform (real HTTP on
loopback): the client, its error answers (401, 429, 503, "no matching data"), the `prices`
command into a real influxd, and the service's price job. The oracle is the simulator's own price
function (`logger.testbed.simulator.day_ahead`), not the parser.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, date, datetime, timedelta

import pytest
from harness import write_config
from pydantic import SecretStr

from logger.app.prices_job import FAILED, LAST_ERROR, PricesJob
from logger.cli.main import main
from logger.config import Settings
from logger.core.belgian_time import BRUSSELS, day_bounds
from logger.core.problems import Problems
from logger.outbox import Outbox
from logger.sources.prices.client import EntsoeClient, PricesAuthError, PricesUnavailable
from logger.testbed.simulator import Simulator, SimulatorConfig
from logger.testbed.simulator.day_ahead import prices_of_day

ZONE = "10YBE----------2"
TOKEN = "test-entsoe-token-5f3a"
SEED = 7


@pytest.fixture(autouse=True)
def _root_logging_restored():
    """`main()` in-process installs a handler on the stream of the moment (a capture that
    closes with the test): later tests must not log into it."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    yield
    root.handlers[:], level = saved
    root.setLevel(level)


def truth(*days: date) -> list[tuple[int, int, float]]:
    return [p for day in days for p in prices_of_day(SEED, day)]


def run_with_sim(body, start: datetime | None = None):
    """Run `body(sim, delays)` against a started simulator (clock frozen at `start`)."""
    async def go():
        config = SimulatorConfig(seed=SEED, entsoe_token=TOKEN, speed=0.0,
                                 start=start or datetime(2026, 6, 1, 12, tzinfo=BRUSSELS))
        async with Simulator(config) as sim:
            return await body(sim)
    return asyncio.run(go())


def client_for(sim, delays: list[float], token: str = TOKEN) -> EntsoeClient:
    async def sleep(seconds: float) -> None:
        delays.append(seconds)
    return EntsoeClient(sim.entsoe_url, SecretStr(token), ZONE, timeout=5.0, sleep=sleep)


def span(first: date, last: date) -> tuple[int, int]:
    return day_bounds(first)[0], day_bounds(last)[1]


def test_both_resolutions_across_2025_10_01_equal_the_simulated_market():
    async def body(sim):
        client = client_for(sim, [])
        try:
            return await client.fetch(*span(date(2025, 9, 29), date(2025, 10, 2)))
        finally:
            await client.close()
    fetched = run_with_sim(body)
    got = [(p.start, p.resolution_s, p.price_eur_mwh) for p in fetched.result.prices]
    assert got == truth(date(2025, 9, 29), date(2025, 9, 30), date(2025, 10, 1),
                        date(2025, 10, 2))
    assert [sum(1 for p in got if p[1] == r) for r in (3600, 900)] == [48, 192]
    assert fetched.result.filled > 0  # the simulator left repeated quarter prices out (A03)


def test_a_query_longer_than_a_month_is_asked_in_pieces_and_loses_nothing():
    async def body(sim):
        client = client_for(sim, [])
        try:
            fetched = await client.fetch(*span(date(2025, 11, 1), date(2026, 1, 31)))
        finally:
            await client.close()
        return fetched, sim.entsoe_api.requests
    fetched, requests = run_with_sim(body)
    assert len(requests) == fetched.requests == 3
    days = [date(2025, 11, 1) + timedelta(days=i) for i in range(92)]
    assert [(p.start, p.price_eur_mwh) for p in fetched.result.prices] == [
        (t, price) for t, _, price in truth(*days)]


def test_a_refused_token_stops_at_once_and_the_error_never_shows_the_token():
    async def body(sim):
        client = client_for(sim, delays := [], token="wrong-token-123")
        try:
            with pytest.raises(PricesAuthError) as err:
                await client.fetch(*span(date(2026, 1, 1), date(2026, 1, 1)))
        finally:
            await client.close()
        return err.value, delays, sim.entsoe_api.requests
    error, delays, requests = run_with_sim(body)
    assert "HTTP 401" in str(error) and "entsoe_token" in str(error)
    assert "wrong-token-123" not in str(error) and "wrong-token-123" not in repr(error)
    assert len(requests) == 1 and delays == []  # no retry can fix a token


def test_429_waits_its_retry_after_and_503_backs_off_until_it_answers():
    async def body(sim):
        sim.entsoe_api.control("POST", {"status": 429, "count": 1, "retry_after": "7"})
        client = client_for(sim, delays := [])
        try:
            first = await client.fetch(*span(date(2026, 1, 1), date(2026, 1, 1)))
            sim.entsoe_api.control("POST", {"status": 503, "count": 2, "retry_after": None})
            second = await client.fetch(*span(date(2026, 1, 2), date(2026, 1, 2)))
        finally:
            await client.close()
        return first, second, delays, [r["status"] for r in sim.entsoe_api.requests]
    first, second, delays, statuses = run_with_sim(body)
    assert statuses == [429, 200, 503, 503, 200]
    assert delays[0] >= 7 and 1 <= delays[1] <= 2 and 2 <= delays[2] <= 4  # jittered doubling
    assert len(first.result.prices) == len(second.result.prices) == 96


def test_a_platform_that_keeps_failing_is_given_up_after_four_attempts():
    async def body(sim):
        sim.entsoe_api.control("POST", {"status": 503})
        client = client_for(sim, [])
        try:
            with pytest.raises(PricesUnavailable, match="HTTP 503 after 4 attempts"):
                await client.fetch(*span(date(2026, 1, 1), date(2026, 1, 1)))
        finally:
            await client.close()
        return len(sim.entsoe_api.requests)
    assert run_with_sim(body) == 4


def test_tomorrow_before_publication_is_no_data_and_after_it_is_there():
    async def body(sim):
        client = client_for(sim, [])
        tomorrow = date(2026, 6, 2)
        try:
            early = await client.fetch(*span(tomorrow, tomorrow))
            sim.clock.set(datetime(2026, 6, 1, 13, 1, tzinfo=BRUSSELS))
            later = await client.fetch(*span(tomorrow, tomorrow))
        finally:
            await client.close()
        return early, later
    early, later = run_with_sim(body, datetime(2026, 6, 1, 12, 55, tzinfo=BRUSSELS))
    assert early.result.prices == [] and "No matching data found" in early.empty[0]
    assert [(p.start, p.price_eur_mwh) for p in later.result.prices] == [
        (t, price) for t, _, price in truth(date(2026, 6, 2))]


def config_for(tmp_path, influxd, db, url):
    return write_config(tmp_path / "config.toml", {
        "local": {"enabled": False},
        "influx": {"url": influxd.url, "database": db, "timeout": 30.0},
        "outbox": {"path": str(tmp_path / "outbox.sqlite")},
        "prices": {"url": url, "token": TOKEN},
    })


def stored(influxd, db) -> list[tuple[str, int, float, float | None]]:
    answer = influxd.query('SELECT "price_eur_mwh", "next_price_eur_mwh" FROM "price_day_ahead"'
                           ' GROUP BY "resolution"', db=db)
    return sorted((s["tags"]["resolution"], t, p, n) for s in answer["results"][0]["series"]
                  for t, p, n in s["values"])


@pytest.mark.integration
def test_the_prices_command_fetches_into_influxdb_and_a_refetch_overwrites(
        influxd, influx_db, tmp_path, capsys):
    async def body(sim):
        config = config_for(tmp_path, influxd, influx_db, sim.entsoe_url)
        args = ["prices", "-c", str(config), "--log-level", "DEBUG", "fetch",
                "--since", "2025-09-30", "--until", "2025-10-01"]
        codes = [await asyncio.to_thread(main, args) for _ in range(2)]
        return codes
    assert run_with_sim(body) == [0, 0]
    out, err = capsys.readouterr()
    # The hour before --since too: 29 September's last hour then knows its successor.
    assert "25 hourly (PT60M) prices" in out and "96 quarter-hourly (PT15M) prices" in out
    assert TOKEN not in out + err
    rows = stored(influxd, influx_db)
    assert len(rows) == 1 + 24 + 96  # fetched twice, stored once
    expected = {(3600 if r == "PT60M" else 900, t): p for r, t, p, _ in rows}
    assert expected == {(r, t): p for t, r, p in truth(date(2025, 9, 29), date(2025, 9, 30),
                                                          date(2025, 10, 1))
                        if t >= day_bounds(date(2025, 9, 30))[0] - 3600}
    last_hour = [r for r in rows if r[0] == "PT60M"][-1]
    assert last_hour[3] == truth(date(2025, 10, 1))[0][2]  # next: the first quarter-hour


@pytest.mark.integration
def test_prices_import_reads_the_csv_and_a_bad_line_writes_nothing(influxd, influx_db,
                                                                   tmp_path, capsys):
    config = config_for(tmp_path, influxd, influx_db, "https://example.invalid/api")
    good = tmp_path / "prices.csv"
    good.write_text("start,price_eur_mwh\n2026-03-29T01:00:00+01:00,60.5\n"
                    "2026-03-29T03:00:00+02:00,58\n2026-03-29T04:00:00+02:00,-1.25\n")
    assert main(["prices", "-c", str(config), "import", str(good)]) == 0
    assert [(t, p) for _, t, p, _ in stored(influxd, influx_db)] == [
        (int(datetime(2026, 3, 29, 1, tzinfo=BRUSSELS).timestamp()), 60.5),  # 02:00 is skipped
        (int(datetime(2026, 3, 29, 3, tzinfo=BRUSSELS).timestamp()), 58.0),  # (spring DST)
        (int(datetime(2026, 3, 29, 4, tzinfo=BRUSSELS).timestamp()), -1.25)]
    bad = tmp_path / "bad.csv"
    bad.write_text("2026-03-30T00:00:00+02:00,1\n2026-03-30T01:00:00,2\n")
    assert main(["prices", "-c", str(config), "import", str(bad)]) == 2
    assert "line 2" in capsys.readouterr().err
    assert len(stored(influxd, influx_db)) == 3


@pytest.mark.integration
def test_the_service_job_fetches_tomorrow_once_published_and_backs_off_on_failure(
        influxd, influx_db, tmp_path, caplog):
    noon = datetime(2026, 6, 1, 12, 0, tzinfo=BRUSSELS)

    async def body(sim):
        settings = Settings(installation="test", local={"enabled": False},
                            influx={"url": influxd.url, "database": influx_db},
                            ledger={"recheck_days": 1},
                            prices={"enabled": True, "url": sim.entsoe_url, "token": TOKEN})
        outbox = Outbox(tmp_path / "job.sqlite")
        problems = Problems(logging.getLogger("test"), on_count=outbox.count)
        client = client_for(sim, delays := [])
        job = PricesJob(settings, outbox, problems, client=client)
        seen = []
        try:
            t = int(noon.timestamp())
            seen.append(await job.run(now=t, monotonic=0.0))  # yesterday and today
            seen.append(await job.run(now=t + 60, monotonic=60.0))  # nothing due
            sim.clock.set(datetime(2026, 6, 1, 13, 0, 30, tzinfo=BRUSSELS))
            sim.entsoe_api.control("POST", {"missing_days": ["2026-06-02"]})  # late today
            seen.append(await job.run(now=t + 3720, monotonic=3720.0))  # 13:02: not yet
            sim.entsoe_api.control("POST", {"reset": True, "status": 503, "count": 4})
            seen.append(await job.run(now=t + 4620, monotonic=4620.0))  # 15 min on: fails
            seen.append(await job.run(now=t + 4650, monotonic=4650.0))  # backing off
            seen.append(await job.run(now=t + 4800, monotonic=4800.0))  # tomorrow, at last
            outbox.commit()
            lines = list(outbox.iter_lines())
            meta = outbox.stats()
        finally:
            await job.close()
            outbox.close()
        return seen, lines, meta, sim.entsoe_api.requests, delays

    seen, lines, stats, requests, delays = run_with_sim(body, noon)
    statuses = [r["status"] for r in requests]
    # Before publish_time only the recent days are asked for, not tomorrow.
    assert requests[0]["periodEnd"] == datetime.fromtimestamp(
        day_bounds(date(2026, 6, 1))[1], UTC).strftime("%Y%m%d%H%M")
    # Each fetch also asks for the hour before (its last price learns its successor): 30 May
    # 23:00-24:00 with the first, 1 June 23:00-24:00 (4 quarters) with the later ones.
    yesterday_today = len(truth(date(2026, 5, 31), date(2026, 6, 1))) + 4
    assert seen == [yesterday_today, 0, 4, 0, 0, 96 + 4]
    assert statuses[:2] == [200, 200] and statuses.count(503) == 4 and statuses[-1] == 200
    assert len(lines) == yesterday_today + 96  # 1 June 23:xx rewritten: the same identities
    assert len(delays) == 3  # the client's own retries; then the job backs off
    assert stats.counters[FAILED] == 1 and stats.meta[LAST_ERROR] == ""
    assert TOKEN not in caplog.text
