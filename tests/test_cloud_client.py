"""The cloud client against the simulated platform API (127.0.0.1 only).

Every test checks that the token appears in no log record (all loggers at DEBUG, httpx and
httpcore included), no exception text and no repr.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest

from logger.core.problems import Problems
from logger.sources.cloud.client import (
    TOKEN_HELP,
    CloudAuthError,
    CloudBadResponse,
    CloudClient,
    CloudConfigError,
    CloudUnavailable,
    parse_retry_after,
)
from logger.sources.cloud.history import fetch_day, parse_power_history
from logger.sources.cloud.probe import probe
from logger.testbed.simulator import Simulator, SimulatorConfig
from logger.testbed.simulator.cloud_api import SHAPES, CloudSimConfig

INSTALL = CloudSimConfig.installation_id
WINTER_NOON = datetime(2026, 1, 14, 11, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def no_token_in_logs(caplog, token):
    caplog.set_level(logging.DEBUG)
    for name in ("httpx", "httpcore", "logger"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    yield
    assert token not in caplog.text
    for record in caplog.records:
        assert token not in repr(record.args)


def sim_config(token: str, **cloud) -> SimulatorConfig:
    return SimulatorConfig(seed=5, start=WINTER_NOON, speed=0,
                           cloud=CloudSimConfig(token=token, history_days=0, **cloud))


def run(token: str, body, **cloud):
    """Run `body(sim, client, seen)` against a fresh simulator; check `seen` texts for the token."""
    seen: list[str] = []

    async def main():
        async with Simulator(sim_config(token, **cloud)) as sim:
            client = CloudClient(sim.cloud_url, token, timeout=5.0, backoff=0.05)
            seen.append(repr(client))
            try:
                return await body(sim, client, seen)
            finally:
                await client.close()

    result = asyncio.run(main())
    for text in seen:
        assert token not in text
    return result


def faults(sim: Simulator, **changes) -> None:
    sim.cloud_api.faults.update(changes)


def test_installations_and_summary_are_unwrapped(token):
    async def body(sim, client, seen):
        assert await client.get("installation/all") == [{"id": INSTALL,
                                                         "name": "Simulated house"}]
        summary = await client.get(f"actual/{INSTALL}/summary/power")
        assert set(summary["powers"]) == {"grid", "solar", "home", "battery", "car"}
        assert await client.get(f"history/recent/{INSTALL}/charger/power/2026/1/14") is None
        assert sim.cloud_api.requests[-1] == (f"history/recent/{INSTALL}/charger/power/2026/1/14",
                                              404)

    run(token, body)


def test_a_wrong_or_revoked_token_stops_the_client_with_the_way_out(token):
    async def body(sim, client, seen):
        faults(sim, revoked=True)
        with pytest.raises(CloudAuthError) as err:
            await client.get("installation/all")
        seen += [str(err.value), repr(err.value)]
        assert "invalid or revoked" in str(err.value)
        assert "Mijn Jullix, Profiel, API-tokens" in str(err.value)
        calls = client.calls
        faults(sim, revoked=False)
        with pytest.raises(CloudAuthError):  # no retry can fix it: refused without a request
            await client.get("installation/all")
        assert client.calls == calls == 1

    run(token, body)
    assert "API-tokens" in TOKEN_HELP


def test_the_simulator_refuses_another_token(token):
    async def body(sim, client, seen):
        other = CloudClient(sim.cloud_url, "not-the-token")
        try:
            with pytest.raises(CloudAuthError):
                await other.get("installation/all")
        finally:
            await other.close()
        assert sim.cloud_api.requests == [("installation/all", 401)]

    run(token, body)


def test_429_retry_after_seconds_is_honoured(token):
    async def body(sim, client, seen):
        faults(sim, status=429, count=1, retry_after="2")
        started = time.monotonic()
        assert await client.get("installation/all")
        elapsed = time.monotonic() - started
        assert 2.0 <= elapsed < 4.0, elapsed
        assert [s for _, s in sim.cloud_api.requests] == [429, 200]
        assert client.retries == 1

    run(token, body)


def test_429_retry_after_http_date_is_honoured(token):
    async def body(sim, client, seen):
        when = datetime.now(UTC) + timedelta(seconds=3)
        faults(sim, status=429, count=1, retry_after=format_datetime(when, usegmt=True))
        started = time.monotonic()
        assert await client.get("installation/all")
        elapsed = time.monotonic() - started
        assert 1.5 <= elapsed < 5.0, elapsed  # the date has whole-second resolution

    run(token, body)


def test_parse_retry_after():
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("-3") == 0.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_5xx_is_retried_with_backoff_then_given_up(token):
    async def body(sim, client, seen):
        faults(sim, status=503, count=2)
        assert await client.get("installation/all")
        assert [s for _, s in sim.cloud_api.requests] == [503, 503, 200]
        faults(sim, status=500)
        with pytest.raises(CloudUnavailable) as err:
            await client.get("installation/all")
        seen.append(str(err.value))
        assert "HTTP 500" in str(err.value) and "4 attempts" in str(err.value)

    run(token, body)


def test_slow_answers_time_out(token):
    async def body(sim, client, seen):
        slow = CloudClient(sim.cloud_url, token, timeout=0.3, max_attempts=2, backoff=0.05)
        seen.append(repr(slow))
        faults(sim, delay=1.5)
        started = time.monotonic()
        try:
            with pytest.raises(CloudUnavailable, match="timed out") as err:
                await slow.get("installation/all")
            seen.append(str(err.value))
        finally:
            await slow.close()
        assert time.monotonic() - started < 3.0

    run(token, body)


def test_malformed_bodies_are_bad_responses(token):
    async def body(sim, client, seen):
        faults(sim, malformed=True)
        with pytest.raises(CloudBadResponse) as err:
            await client.get("installation/all")
        seen.append(str(err.value))

    run(token, body)


def test_at_most_four_requests_in_flight(token):
    async def body(sim, client, seen):
        faults(sim, delay=0.4)
        started = time.monotonic()
        await asyncio.gather(*(client.get("installation/all") for _ in range(8)))
        assert time.monotonic() - started >= 0.8  # two rounds of four

    run(token, body)


def test_plain_http_only_to_loopback_and_a_token_is_required():
    with pytest.raises(CloudConfigError, match="plain http"):
        CloudClient("http://mijn.jullix.be/api/v1", "x")
    with pytest.raises(CloudConfigError, match="API-tokens"):
        CloudClient("https://mijn.jullix.be/api/v1", None)
    client = CloudClient("https://mijn.jullix.be/api/v1", "secret-x")
    assert "secret-x" not in repr(client)
    asyncio.run(client.close())


def test_every_simulator_history_shape_parses_to_the_same_samples(token):
    async def body(sim, client, seen):
        day = date(2026, 1, 14)
        path = f"history/recent/{INSTALL}/grid/power/2026/1/14"
        results = {}
        for shape in SHAPES:
            faults(sim, shape=shape)
            results[shape] = parse_power_history(await client.get(path), day)
        canonical = results.pop("canonical")
        assert canonical.understood and len(canonical.samples) == 12 * 60 // 5 + 1  # to 12:00
        assert not results.pop("unknown").understood
        for shape, parsed in results.items():
            assert parsed.samples == canonical.samples, shape

    run(token, body, resolution=300)


def test_history_matches_the_live_model_for_pure_functions_of_time(token):
    async def body(sim, client, seen):
        problems = Problems(logging.getLogger("test"))
        history = await fetch_day(client, INSTALL, "home", date(2026, 1, 14), problems,
                                  known_absent={"charger"})
        assert not history.problem and history.complete
        last = history.points[-1]
        assert last.time_s == int(WINTER_NOON.timestamp())
        snap = sim.snapshot()
        assert last.field_dict["solar_w"] == snap.pv_w
        # no charger, and the local poller said so: the 404 means absent = 0 W, like locally
        assert last.field_dict["car_w"] == 0.0
        assert last.field_dict["home_w"] == snap.grid_w + snap.pv_w + snap.battery_w

    run(token, body, resolution=60)


def test_a_404_counts_as_0_w_only_for_a_device_type_the_local_poller_found_absent(token):
    """The history paths of solar/grid/charger are an inference: a 404 there may mean "no such
    path", so it must not write 0 W for a device the house has (a PV home at noon)."""
    async def body(sim, client, seen):
        problems = Problems(logging.getLogger("test"))
        day = date(2026, 1, 14)
        snap = sim.snapshot()
        assert snap.pv_w > 0  # a PV home at noon
        faults(sim, missing=["solar"])
        for known_absent in (set(), {"charger"}, {"battery"}):
            history = await fetch_day(client, INSTALL, "home", day, problems, known_absent)
            assert history.complete  # a 404 is an answer: nothing to try again
            fields = history.points[-1].field_dict
            assert "solar_w" not in fields and "home_w" not in fields, known_absent
            assert fields["battery_w"] == snap.battery_w
            assert fields.get("car_w") == (0.0 if "charger" in known_absent else None)
        faults(sim, missing=["grid"])  # without a grid history nothing is written, and the
        history = await fetch_day(client, INSTALL, "home", day, problems, {"charger"})
        assert history.points == [] and not history.complete  # day is tried again later
        assert "no grid power history" in history.problem

    run(token, body, resolution=3600)


def test_an_unavailable_or_malformed_day_is_not_complete(token):
    async def body(sim, client, seen):
        problems = Problems(logging.getLogger("test"))
        faults(sim, malformed=True)
        history = await fetch_day(client, INSTALL, "home", date(2026, 1, 14), problems)
        assert history.points == [] and not history.complete
        assert "not JSON" in history.problem
        faults(sim, reset=True, status=503)
        history = await fetch_day(client, INSTALL, "home", date(2026, 1, 14), problems)
        assert history.points == [] and not history.complete
        assert "HTTP 503" in history.problem
        faults(sim, reset=True)
        history = await fetch_day(client, INSTALL, "home", date(2026, 1, 14), problems)
        assert history.complete and history.points

    run(token, body, resolution=3600)


def test_unknown_history_is_logged_once_with_a_short_sample_and_not_written(token, caplog):
    async def body(sim, client, seen):
        faults(sim, shape="unknown")
        problems = Problems(logging.getLogger("test"))
        for _ in range(3):
            history = await fetch_day(client, INSTALL, "home", date(2026, 1, 14), problems)
            assert history.points == [] and "not understood" in history.problem
        lines = [r.getMessage() for r in caplog.records if "not understood" in r.getMessage()]
        assert len(lines) == 3  # one per device kind, not one per call
        assert all("sample: " in line and len(line) < 600 for line in lines)

    run(token, body, resolution=3600)


def test_cloud_probe_saves_every_answer_with_the_token_redacted(token, tmp_path: Path):
    async def body(sim, client, seen):
        results = await probe(client, None, date(2026, 1, 14), tmp_path / "probe")
        assert any("history/recent" in p and "HTTP 200" in o for p, o in results)
        assert any("statistics/energy" in p and "HTTP 404" in o for p, o in results)

    run(token, body, resolution=3600)
    files = list((tmp_path / "probe").iterdir())
    assert len(files) >= 20
    for path in files:
        assert token not in path.read_text()
