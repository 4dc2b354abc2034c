"""End to end: the real `run` command, the simulator as the box, a real InfluxDB.

These are the walking skeleton's promises: exactly one meter point per distinct meter time, at
the right UTC instant, through API v1 and v2, across an InfluxDB outage and a SIGKILL.
"""

from __future__ import annotations

import signal
import sqlite3
import time
from pathlib import Path

import pytest
from harness import Process, SimulatorProcess, served_utc_seconds, wait_until, write_config

from logger.core.line_protocol import identity_of_line
from logger.testbed.influxd import InfluxServer

pytestmark = pytest.mark.integration


def logger_config(tmp_path: Path, sim: SimulatorProcess, influx: dict) -> Path:
    return write_config(
        tmp_path / "config.toml",
        {
            "local": {"url": sim.url, "interval": 1.0, "timeout": 2.0},
            "influx": {"timeout": 3.0, **influx},
            "outbox": {"path": str(tmp_path / "outbox.sqlite")},
        },
    )


def start_logger(tmp_path: Path, config: Path, name: str = "logger") -> Process:
    return Process(["run", "-c", str(config)], tmp_path / f"{name}.log")


def meter_times(server: InfluxServer, db: str) -> list[int]:
    return [row["time"] for row in server.points(db, "meter")]


def field_types(server: InfluxServer, db: str) -> dict[str, dict[str, str]]:
    result = server.query("SHOW FIELD KEYS", db=db)["results"][0]
    # Measurements starting with "_" are the logger's own records (applied migrations).
    return {
        series["name"]: dict(series["values"]) for series in result.get("series", [])
        if not series["name"].startswith("_")
    }


def tag_keys(server: InfluxServer, db: str, measurement: str) -> set[str]:
    result = server.query(f'SHOW TAG KEYS FROM "{measurement}"', db=db)["results"][0]
    return {row[0] for series in result.get("series", []) for row in series["values"]}


@pytest.mark.parametrize("api", ["v1", "v2"])
def test_run_writes_one_meter_point_per_served_meter_time(tmp_path, influxd, influx_db,
                                                          v2_proxy, api):
    sim = SimulatorProcess(tmp_path, "--devices", "solar,battery", "--seed", "7")
    if api == "v1":
        influx = {"url": influxd.url, "api": "v1", "database": influx_db}
    else:
        influx = {"url": v2_proxy.url, "api": "v2", "bucket": influx_db, "token": "t0ken"}
    logger = start_logger(tmp_path, logger_config(tmp_path, sim, influx))
    try:
        wait_until(lambda: len(sim.served()) >= 10, 40, what="ten meter readings")
        assert logger.stop() == 0, logger.output()
        served = sim.served()
    finally:
        logger.close()
        sim.close()

    stored = influxd.points(influx_db, "meter")
    assert [row["time"] for row in stored] == served_utc_seconds(served)
    for row, reading in zip(stored, served, strict=True):
        values = reading["values"]
        assert row["meter_id"] == values["meter"]
        assert row["power_import_w"] == pytest.approx(values["power"]["in"] * 1000, abs=1e-6)
        assert row["energy_import_t1_kwh"] == pytest.approx(values["energy"]["in_1"], abs=5e-4)

    types = field_types(influxd, influx_db)
    assert set(types) == {"meter", "solar", "battery", "power_flow"}  # no charger, no plug
    assert all(t == "float" for fields in types.values() for t in fields.values()), types
    assert tag_keys(influxd, influx_db, "solar") == {"installation", "device_id", "localid"}
    assert tag_keys(influxd, influx_db, "battery") == {"installation", "device_id", "localid"}
    assert tag_keys(influxd, influx_db, "power_flow") == {"installation", "source"}
    flows = influxd.points(influx_db, "power_flow")
    assert len(flows) >= 8
    assert {row["source"] for row in flows} == {"local"}
    assert {row["installation"] for row in flows} == {"test"}
    if api == "v2":
        assert v2_proxy.requests["/api/v2/write"] >= 1


def test_a_write_only_v2_endpoint_still_gets_every_meter_point(tmp_path, influxd, influx_db):
    """A proxy that forwards nothing but /api/v2/write (no /ping, no /query): the migrations
    cannot run there, so the logger says so and writes anyway instead of holding data back."""
    from v2_proxy import V2Proxy

    proxy = V2Proxy(influxd.url, write_only=True).start()
    sim = SimulatorProcess(tmp_path, "--seed", "8")
    influx = {"url": proxy.url, "api": "v2", "bucket": influx_db, "token": "t0ken"}
    logger = start_logger(tmp_path, logger_config(tmp_path, sim, influx))
    try:
        wait_until(lambda: len(sim.served()) >= 5, 30, what="five meter readings")
        assert logger.stop() == 0, logger.output()
        served = served_utc_seconds(sim.served())
    finally:
        logger.close()
        sim.close()
        proxy.stop()
    assert meter_times(influxd, influx_db) == served
    assert "takes no migrations; writing without them" in logger.output()
    assert proxy.requests["/ping"] >= 1 and proxy.requests["/api/v2/write"] >= 1


def test_an_influxdb_outage_of_20_seconds_loses_and_duplicates_nothing(tmp_path,
                                                                       private_influxd):
    server = private_influxd
    server.create_database("jullix")
    sim = SimulatorProcess(tmp_path, "--seed", "3")
    config = logger_config(tmp_path, sim, {"url": server.url, "database": "jullix"})
    logger = start_logger(tmp_path, config)
    try:
        wait_until(lambda: len(meter_times(server, "jullix")) >= 3, 30, what="first writes")
        server.stop()
        time.sleep(20)
        assert logger.proc.poll() is None, "the logger must survive the outage"
        server.start()
        wait_until(lambda: len(meter_times(server, "jullix")) >= 25, 40, what="backlog drained")
        assert logger.stop() == 0, logger.output()
        served = served_utc_seconds(sim.served())
    finally:
        logger.close()
        sim.close()
    stored = meter_times(server, "jullix")
    assert stored == served  # none missing, none extra, in order
    assert len(set(stored)) == len(stored)
    assert "InfluxDB write failed" in logger.output()


def committed_lines(outbox_path: Path) -> list[str]:
    db = sqlite3.connect(f"file:{outbox_path}?mode=ro", uri=True)
    try:
        return [line for (line,) in db.execute("SELECT line FROM outbox ORDER BY id")]
    finally:
        db.close()


def test_kill_9_loses_nothing_the_outbox_had_accepted(tmp_path, private_influxd):
    server = private_influxd
    server.create_database("jullix")
    sim = SimulatorProcess(tmp_path, "--seed", "5")
    config = logger_config(tmp_path, sim, {"url": server.url, "database": "jullix"})
    first = start_logger(tmp_path, config, "first")
    try:
        wait_until(lambda: len(meter_times(server, "jullix")) >= 3, 30, what="first writes")
        server.stop()  # let a backlog build up in the outbox
        wait_until(lambda: len(committed_lines(tmp_path / "outbox.sqlite")) >= 20, 30,
                   what="a backlog")
        first.signal(signal.SIGKILL)
        first.wait(10)
        accepted = committed_lines(tmp_path / "outbox.sqlite")
        served_before_restart = served_utc_seconds(sim.served())
        server.start()
        second = start_logger(tmp_path, config, "second")
        try:
            wait_until(lambda: not committed_lines(tmp_path / "outbox.sqlite")
                       or len(meter_times(server, "jullix")) > len(served_before_restart),
                       30, what="backlog delivered")
            time.sleep(3)
            assert second.stop() == 0, second.output()
        finally:
            second.close()
        served = served_utc_seconds(sim.served())
    finally:
        first.close()
        sim.close()

    meter_accepted = [line for line in accepted if line.startswith("meter,")]
    assert meter_accepted, "the backlog should hold meter points"
    stored = {row["time"]: row for row in server.points("jullix", "meter")}
    for line in meter_accepted:
        assert int(identity_of_line(line).rsplit(" ", 1)[1]) in stored, line
    times = meter_times(server, "jullix")
    assert len(set(times)) == len(times)
    assert set(times) <= set(served)
    # All but what was still uncommitted at the moment of the kill (one commit interval) arrived.
    lost = set(served_before_restart) - set(times)
    assert len(lost) <= 2, sorted(lost)
