"""Budgets and the memory-first outbox against a real InfluxDB (issues 13 item 5, and 14).

A flush ends within its budget even when the server trickles bytes forever; a batch of refused
points costs a bounded number of requests per drain (and still ends up dead-lettered, point by
point, with nothing good lost); and at nominal load with a healthy InfluxDB, points reach
InfluxDB without ever being inserted into the SQLite file (counted by a trigger the test adds,
not by the logger).
"""

from __future__ import annotations

import asyncio
import sqlite3
import time

import pytest
from harness import SimulatorProcess, served_utc_seconds
from trickling_server import TricklingServer

from logger.app.delivery import BISECT_REQUESTS, Delivery
from logger.app.service import Service
from logger.config import InfluxSettings, Settings
from logger.core.line_protocol import identity_of_line
from logger.core.point import Point
from logger.outbox import Outbox
from logger.sink.writers import make_writer

COUNT_INSERTS = """
CREATE TABLE test_inserted (one INTEGER PRIMARY KEY CHECK (one = 1), n INTEGER NOT NULL);
INSERT INTO test_inserted VALUES (1, 0);
CREATE TRIGGER test_count_inserts AFTER INSERT ON outbox
BEGIN UPDATE test_inserted SET n = n + 1 WHERE one = 1; END;
"""


def one_point() -> Point:
    return Point.make("meter", {"installation": "t"}, {"power_w": 1.0}, 1_700_000_000)


def test_a_flush_ends_within_its_budget_when_influxdb_trickles_forever(tmp_path):
    server = TricklingServer()
    settings = Settings(
        local={"enabled": False},
        influx={"url": server.url, "database": "db", "timeout": 1.0,
                "auto_migrate": False},
        outbox={"path": tmp_path / "outbox.sqlite"},
    )

    async def go() -> float:
        service = Service(settings)
        service.outbox.put([one_point()])
        began = time.monotonic()
        try:
            await asyncio.wait_for(service.flush(), 20)
            return time.monotonic() - began
        finally:
            assert service.outbox.depth() == 1  # not confirmed, so still queued
            await service.delivery.writer.close()
            service.outbox.close()

    try:
        elapsed = asyncio.run(go())
    finally:
        server.close()
    budget = max(1.0, settings.influx.timeout * 2) + 1.0
    assert elapsed <= budget + 1.0, elapsed


@pytest.mark.integration
def test_refused_points_cost_bounded_requests_per_drain_and_all_end_dead_lettered(
        tmp_path, influxd, influx_db):
    influxd.write(influx_db, "m,installation=t f=1 1699999999")  # f is a float in this shard
    refused = [f'm,installation=t f="text{i}" {1_700_000_000 + i}' for i in range(300)]
    good = [Point.make("m", {"installation": "t"}, {"f": float(i)}, 1_700_001_000 + i)
            for i in range(5)]
    outbox = Outbox(tmp_path / "o.sqlite")
    outbox.put_lines((identity_of_line(line), line) for line in refused)
    outbox.put(good)
    outbox.commit()

    async def go() -> list[int]:
        writer = make_writer(InfluxSettings(url=influxd.url, database=influx_db))
        delivery = Delivery(outbox, writer, 5000)
        requests = []
        try:
            while outbox.depth() and len(requests) < 100:
                report = await delivery.drain(force=True)
                requests.append(report.requests)
        finally:
            await writer.close()
        return requests

    requests = asyncio.run(go())
    assert max(requests) <= 1 + BISECT_REQUESTS, requests
    assert len(requests) > 1  # the budget, not the batch, ended the first drain
    assert outbox.depth() == 0
    assert outbox.dead_letters.count() == 300
    stored = {row["time"] for row in influxd.points(influx_db, "m")}
    assert stored == {1_699_999_999} | {1_700_001_000 + i for i in range(5)}


@pytest.mark.integration
def test_with_a_healthy_influxdb_points_never_touch_the_disk(tmp_path, influxd, influx_db):
    path = tmp_path / "outbox.sqlite"
    Outbox(path).close()
    db = sqlite3.connect(path)
    db.executescript(COUNT_INSERTS)
    db.close()
    sim = SimulatorProcess(tmp_path)
    try:
        settings = Settings(
            local={"url": sim.url, "interval": 1.0, "timeout": 2.0},
            influx={"url": influxd.url, "database": influx_db, "timeout": 3.0},
            outbox={"path": path},
        )
        asyncio.run(Service(settings).run(duration=6.0))
        served = set(served_utc_seconds(sim.served()))
    finally:
        sim.close()
    stored = {row["time"] for row in influxd.points(influx_db, "meter")}
    db = sqlite3.connect(path)
    try:
        inserted = db.execute("SELECT n FROM test_inserted").fetchone()[0]
    finally:
        db.close()
    assert len(served) >= 4
    assert stored == served
    assert inserted == 0
