"""Gap detection and repair from the cloud: pure rules, then a real InfluxDB and the simulator.

All traffic stays on 127.0.0.1. Every test that knows a cloud token checks that it appears in
no log record, exception text or process output.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import re
import sqlite3
import time
import urllib.request
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from backfill_world import LOCAL_INTERVAL, BackfillStopped, World, with_world
from fault_proxy import FaultProxy
from harness import Process, SimulatorProcess, wait_until, write_config

from logger.app.backfill import run as backfill_module
from logger.app.backfill.state import STATE_FILE, BackfillState
from logger.core.belgian_time import BRUSSELS, parse_bound
from logger.sink.gaps import Gap
from logger.testbed.influxd import InfluxServer

# -- pure rules -------------------------------------------------------------------------------


def test_state_skips_repaired_gaps_and_rechecks_recent_ones_once(tmp_path):
    state = BackfillState(tmp_path / STATE_FILE, "home")
    gap = Gap(1000, 2000)
    recheck = 3 * 3600
    state.record(gap, fetched_at=2100)  # fetched 100 s after its end: provisional
    state.save(keep_after=0)
    state = BackfillState(tmp_path / STATE_FILE, "home")
    assert state.covers(gap, now=2200, recheck=recheck)  # the second run in a row: nothing
    assert state.covers(Gap(1200, 1800), now=2200, recheck=recheck)
    assert not state.covers(Gap(900, 2000), now=2200, recheck=recheck)
    assert not state.covers(gap, now=2000 + recheck, recheck=recheck)  # due for the recheck
    state.record(gap, fetched_at=2000 + recheck)
    assert state.covers(gap, now=2000 + 10 * recheck, recheck=recheck)  # final now
    assert not BackfillState(tmp_path / STATE_FILE, "other").covers(gap, 2200, recheck)


def test_parse_bound():
    assert parse_bound("2026-03-07") == datetime(2026, 3, 7, tzinfo=BRUSSELS)
    assert parse_bound("2026-03-07", end=True) == datetime(2026, 3, 8, tzinfo=BRUSSELS)
    assert parse_bound("2026-03-07T10:00:00Z") == datetime(2026, 3, 7, 10, tzinfo=UTC)


# -- a real InfluxDB and the simulator, in process (tests/backfill_world.py) -----------------


@pytest.mark.integration
def test_backfill_fills_the_gap_only_and_a_second_run_writes_nothing(
        influxd, influx_db, tmp_path, token, checked_logs):
    async def body(world: World):
        dry = await world.run(dry_run=True, client=False)
        assert [g.gap for g in dry.gaps] == [world.gap]
        assert dry.points_written == 0 and world.cloud_times() == []
        assert any("grid/power" in call for call in dry.planned_calls)
        assert world.sim.cloud_api.requests == []  # a dry run asks nothing of the cloud
        text = "\n".join(dry.summary_lines())
        assert "dry run" in text and "GET installation/all" in text

        first = await world.run()
        assert first.points_written > 0 and first.remaining == []
        assert first.days_fetched == len(first.days) >= 1
        assert first.api_calls == 1 + 4 * len(first.days)
        cloud = world.cloud_times()
        assert len(cloud) == first.points_written
        assert all(world.gap.start < t < world.gap.end for t in cloud)
        merged = sorted(world.local + cloud)
        assert max(b - a for a, b in itertools.pairwise(merged)) <= 3 * LOCAL_INTERVAL
        assert first.meter_gaps == 1

        second = await world.run()
        assert second.points_written == 0 and second.api_calls == 0
        assert [g.status for g in second.gaps] == ["already repaired"]
        assert world.cloud_times() == cloud

        # Lost state: the cloud points already close the gap, so still nothing to do.
        (world.settings.outbox.path.parent / STATE_FILE).unlink()
        third = await world.run()
        assert third.points_written == 0 and third.api_calls == 0

    with_world(influxd, influx_db, tmp_path, token, body)


@pytest.mark.integration
def test_recent_gaps_are_fetched_once_more_after_recheck_hours(
        influxd, influx_db, tmp_path, token, checked_logs, monkeypatch):
    async def body(world: World):
        (world.settings.outbox.path.parent).mkdir(parents=True, exist_ok=True)
        first = await world.run()
        assert first.points_written > 0
        # Remove the cloud points so that only the state file can tell the gap was repaired.
        world.influxd.query("DROP SERIES FROM power_flow WHERE source = 'cloud'", db=world.db)
        real = time.time
        monkeypatch.setattr(backfill_module.time, "time", lambda: real() + 3.5 * 3600)
        later = await world.run(since=datetime.fromtimestamp(world.local[0], UTC))
        assert later.points_written == first.points_written  # fetched once more
        monkeypatch.setattr(backfill_module.time, "time", lambda: real() + 7 * 3600)
        world.influxd.query("DROP SERIES FROM power_flow WHERE source = 'cloud'", db=world.db)
        last = await world.run(since=datetime.fromtimestamp(world.local[0], UTC))
        assert last.points_written == 0  # final after the recheck

    with_world(influxd, influx_db, tmp_path, token, body)


@pytest.mark.integration
def test_an_unavailable_cloud_leaves_the_gap_for_the_next_run(
        influxd, influx_db, tmp_path, token, checked_logs):
    async def body(world: World):
        world.sim.cloud_api.faults.update({"status": 503})
        report = await world.run()
        assert report.points_written == 0
        assert next(g.reason for g in report.remaining).startswith("cloud unavailable")
        world.sim.cloud_api.faults.update({"reset": True})
        again = await world.run()
        assert again.points_written > 0 and again.remaining == []

    with_world(influxd, influx_db, tmp_path, token, body)


@pytest.mark.integration
def test_a_revoked_token_stops_the_backfill_with_the_way_out(
        influxd, influx_db, tmp_path, token, checked_logs):
    async def body(world: World):
        world.sim.cloud_api.faults.update({"revoked": True})
        with pytest.raises(BackfillStopped) as err:
            await world.run()
        assert "Profiel, API-tokens" in str(err.value)
        assert token not in str(err.value) and token not in repr(err.value)
        assert world.cloud_times() == []

    with_world(influxd, influx_db, tmp_path, token, body)


@pytest.mark.integration
def test_the_leading_edge_counts_only_with_since(
        influxd, influx_db, tmp_path, token, checked_logs):
    async def body(world: World):
        since = datetime.fromtimestamp(world.local[0] - 600, UTC)
        report = await world.run(dry_run=True, since=since, client=False)
        assert [g.gap for g in report.gaps] == [Gap(world.local[0] - 601, world.local[0]),
                                                world.gap]

    with_world(influxd, influx_db, tmp_path, token, body)


# -- the real programs: ten minutes of logging, scaled ----------------------------------------


def config_for(tmp_path: Path, sim: SimulatorProcess, influxd: InfluxServer, db: str,
               token: str, **cloud) -> Path:
    return write_config(tmp_path / "config.toml", {
        "local": {"url": sim.url, "interval": 1.0, "timeout": 0.8},
        "cloud": {"enabled": True, "url": f"{sim.url}/api/v1", "token": token, **cloud},
        "backfill": {"enabled": False},  # the scheduled job; the command runs regardless
        "influx": {"url": influxd.url, "database": db, "timeout": 3.0},
        "outbox": {"path": str(tmp_path / "outbox.sqlite")},
    })


def cli(tmp_path: Path, name: str, *args: str) -> tuple[int, str]:
    proc = Process(list(args), tmp_path / f"{name}.log")
    try:
        code = proc.wait(120)
        return code, proc.output()
    finally:
        proc.close()


@pytest.mark.integration
def test_ten_minutes_with_a_three_minute_outage_scaled_down_then_backfill(
        tmp_path, influxd, influx_db, token):
    """The scenario "ten minutes of logging, the local API down for three minutes in the middle,
    then a backfill", scaled down 10x in time so that it takes a minute of real time: local poll
    interval 1 s (instead of 5-10 s), gap threshold 3 s (three intervals, the default rule),
    60 s of logging with the local API down for 20 s in the middle, cloud history at 1 s
    resolution. The simulator runs at speed 1 from the real now, because the local poller stamps
    power_flow with its receive time (real time) while the cloud history carries the simulator's
    time: both must be one clock for "inside the gap" to mean anything.
    """
    sim = SimulatorProcess(tmp_path, "--cloud-token", token, "--cloud-resolution", "1",
                           "--cloud-history-days", "0", "--seed", "3")
    config = config_for(tmp_path, sim, influxd, influx_db, token)
    logger = Process(["run", "-c", str(config)], tmp_path / "logger.log")
    outputs = []
    try:
        time.sleep(20)
        sim.set_faults(down_seconds=20)
        time.sleep(40)
        assert logger.stop() == 0
        outputs.append(logger.output())

        local = [r["time"] for r in influxd.points(influx_db, "power_flow", "source='local'")]
        gaps = [(a, b) for a, b in itertools.pairwise(local) if b - a > 3]
        assert any(b - a >= 15 for a, b in gaps), gaps  # the outage is there

        code, dry = cli(tmp_path, "dry", "backfill", "--dry-run", "-c", str(config))
        outputs.append(dry)
        assert code == 0, dry
        assert re.search(r"gaps found: [1-9]", dry), dry
        assert "GET history/recent/" in dry and "nothing written" in dry
        assert influxd.points(influx_db, "power_flow", "source='cloud'") == []
        assert sim.control("GET", "cloud")["requests"] == []

        code, first = cli(tmp_path, "first", "backfill", "-c", str(config))
        outputs.append(first)
        assert code == 0, first
        written = int(re.search(r"points written: (\d+)", first).group(1))
        assert written >= 15, first
        assert "gaps that remain: 0" in first

        cloud = [r["time"] for r in influxd.points(influx_db, "power_flow", "source='cloud'")]
        assert len(cloud) == written
        assert all(any(a < t < b for a, b in gaps) for t in cloud)  # only inside gaps
        merged = sorted(set(local) | set(cloud))
        assert max(b - a for a, b in itertools.pairwise(merged)) <= 3

        code, second = cli(tmp_path, "second", "backfill", "-c", str(config))
        outputs.append(second)
        assert code == 0 and "points written: 0" in second, second
        outputs.append(sim.output())
    finally:
        logger.close()
        sim.close()
    for text in outputs:
        assert token not in text


@pytest.mark.integration
def test_cloud_realtime_then_a_revoked_token_while_local_logging_goes_on(
        tmp_path, influxd, influx_db, token):
    sim = SimulatorProcess(tmp_path, "--cloud-token", token, "--cloud-resolution", "60",
                           "--cloud-history-days", "0")
    config = config_for(tmp_path, sim, influxd, influx_db, token, realtime=True)
    outputs = []
    try:
        run1 = Process(["run", "-c", str(config), "--seconds", "4"], tmp_path / "run1.log")
        assert run1.wait(30) == 0
        outputs.append(run1.output())
        run1.close()
        assert "source=cloud series next to source=local" in outputs[-1]
        cloud = influxd.points(influx_db, "power_flow", "source='cloud'")
        assert len(cloud) == 1 and cloud[0]["grid_w"] is not None

        sim.control("POST", "cloud", {"revoked": True})
        before = len(influxd.points(influx_db, "meter"))
        run2 = Process(["run", "-c", str(config), "--seconds", "6"], tmp_path / "run2.log")
        wait_until(lambda: "invalid or revoked" in run2.output(), 10, what="the 401 message")
        assert run2.wait(30) == 0
        output = run2.output()
        outputs.append(output)
        run2.close()
        assert output.count("Mijn Jullix, Profiel, API-tokens") == 1
        assert "cloud work (realtime and backfill) stops now, local logging goes on" in output
        assert len(influxd.points(influx_db, "meter")) >= before + 4  # local went on
        outputs.append(sim.output())
    finally:
        sim.close()
    for text in outputs:
        assert token not in text


# -- the command through the outbox: a kill in the middle of the write ------------------------


def cloud_grid_times(sim: SimulatorProcess, token: str, day: date) -> list[int]:
    """The oracle: the sample times the simulated cloud serves for one day, read with urllib."""
    def get(path: str):
        request = urllib.request.Request(f"{sim.url}/api/v1/{path}",
                                         headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())["data"]

    ident = get("installation/all")[0]["id"]
    samples = get(f"history/recent/{ident}/grid/power/{day.year}/{day.month}/{day.day}")
    return [int(datetime.fromisoformat(s["timestamp"]).timestamp()) for s in samples]


def outbox_depth(path: Path) -> int:
    if not path.exists():
        return 0
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        return db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]


@pytest.mark.integration
def test_a_backfill_killed_while_writing_loses_and_duplicates_nothing_on_rerun(
        tmp_path, influxd, influx_db, token):
    sim = SimulatorProcess(tmp_path, "--cloud-token", token, "--cloud-resolution", "5",
                           "--cloud-history-days", "1", "--speed", "0", "--seed", "5")
    proxy = FaultProxy(influxd.url).start()
    try:
        now = int(datetime.fromisoformat(sim.control("GET", "clock")["utc"]).timestamp())
        now -= now % 5
        gap = (now - 1200, now - 900)
        local = [t for t in range(now - 1800, now - 60, 5) if not gap[0] < t < gap[1]]
        influxd.write(influx_db, "\n".join(
            f"power_flow,installation=test,source=local grid_w=1.0 {t}" for t in local))
        days = {datetime.fromtimestamp(t, BRUSSELS).date() for t in gap}
        served = {t for day in days for t in cloud_grid_times(sim, token, day)}
        expected = sorted(t for t in served if gap[0] < t < gap[1])
        assert len(expected) >= 50

        outbox = tmp_path / "outbox.sqlite"

        def config(url: str) -> str:
            return str(write_config(tmp_path / "config.toml", {
                "local": {"interval": 5.0},
                "cloud": {"enabled": True, "url": f"{sim.url}/api/v1", "token": token},
                "influx": {"url": url, "database": influx_db, "timeout": 1.0,
                           "batch_size": 5},
                "outbox": {"path": str(outbox)},
            }))

        def cloud_points() -> list[dict]:
            return influxd.points(influx_db, "power_flow", "source='cloud'")

        # Writes reach InfluxDB but their answers never come back in time: the command retries
        # its first batch forever. Killed there, with the rest committed in the outbox.
        proxy.set_mode("slow", delay=3.0, writes_only=True)
        first = Process(["backfill", "-c", config(proxy.url)], tmp_path / "first.log")
        try:
            wait_until(lambda: cloud_points() and outbox_depth(outbox) > 5, 60,
                       what="points in InfluxDB and more still in the outbox")
            first.kill()
        finally:
            first.close()
        assert 0 < len(cloud_points()) < len(expected)
        assert outbox_depth(outbox) >= len(expected) - len(cloud_points())

        proxy.set_mode("pass")
        code, output = cli(tmp_path, "rerun", "backfill", "-c", config(influxd.url))
        assert code == 0, output
        assert "waiting in the outbox: 0" in output, output
        stored = [p["time"] for p in cloud_points()]
        assert stored == expected  # nothing missing, nothing extra, each time once
        series = influxd.query('SHOW SERIES FROM "power_flow"', db=influx_db)
        keys = [v[0] for s in series["results"][0]["series"] for v in s["values"]]
        assert sorted(keys) == ["power_flow,installation=test,source=cloud",
                                "power_flow,installation=test,source=local"]
        assert outbox_depth(outbox) == 0
        assert token not in output and token not in (tmp_path / "first.log").read_text()
    finally:
        proxy.stop()
        sim.close()
