"""Delivering the outbox into a real InfluxDB: acknowledge on 2xx, retry on outages,
dead-letter only what the server can never accept."""

from __future__ import annotations

import asyncio

import pytest

from logger.app.delivery import Backoff, Delivery, error_class
from logger.config import InfluxSettings
from logger.core.point import Point
from logger.outbox import Outbox
from logger.sink.writers import Outcome, WriteResult, classify, make_writer


def points(n: int, measurement: str = "m") -> list[Point]:
    return [Point.make(measurement, {"installation": "t"}, {"f": float(i)}, 1_700_000_000 + i)
            for i in range(n)]


def drain(outbox: Outbox, settings: InfluxSettings, batch_size: int = 5000):
    async def go():
        writer = make_writer(settings)
        try:
            return await Delivery(outbox, writer, batch_size).drain(force=True)
        finally:
            await writer.close()

    return asyncio.run(go())


def test_answers_are_classified_by_what_they_mean_for_the_data():
    assert classify(204, "").outcome is Outcome.OK
    assert classify(400, "field type conflict").outcome is Outcome.REJECT
    assert classify(413, "too large").outcome is Outcome.REJECT
    for status in (401, 403, 404, 429, 500, 503):
        assert classify(status, "").outcome is Outcome.RETRY, status
    assert classify(429, "", "7").retry_after == 7.0


def test_failed_writes_are_counted_by_what_an_operator_would_do_about_them():
    assert error_class(classify(400, "field type conflict")) == "rejected"
    assert error_class(classify(401, "")) == "auth" == error_class(classify(403, ""))
    assert error_class(classify(404, "database not found")) == "not_found"
    assert error_class(classify(429, "")) == "throttled"
    assert error_class(classify(503, "")) == "server_error"
    assert error_class(WriteResult(Outcome.RETRY, None, "ReadTimeout: timed out")) == "timeout"
    assert error_class(WriteResult(Outcome.RETRY, None, "ConnectError: refused")) == "unreachable"


def test_backoff_grows_is_capped_and_resets():
    backoff = Backoff(initial=1.0, maximum=8.0)
    delays = [backoff.failed() for _ in range(8)]
    assert delays[0] <= 1.0 and max(delays) <= 8.0 and delays[-1] >= 4.0
    assert backoff.failed(at_least=30.0) >= 30.0
    backoff.succeeded()
    assert backoff.ready()


@pytest.mark.integration
@pytest.mark.parametrize("api", ["v1", "v2"])
def test_a_backlog_is_written_and_removed(tmp_path, influxd, influx_db, v2_proxy, api):
    settings = (InfluxSettings(url=influxd.url, database=influx_db) if api == "v1" else
                InfluxSettings(url=v2_proxy.url, api="v2", bucket=influx_db, token="x"))
    outbox = Outbox(tmp_path / "o.sqlite")
    outbox.put(points(1200))
    outbox.commit()
    report = drain(outbox, settings, batch_size=500)
    assert (report.written, report.requests, outbox.depth()) == (1200, 3, 0)
    assert len(influxd.points(influx_db, "m")) == 1200
    assert outbox.stats().counters["points_written"] == 1200


@pytest.mark.integration
def test_one_bad_point_is_isolated_and_dead_lettered_with_the_servers_reason(
        tmp_path, influxd, influx_db):
    influxd.write(influx_db, 'm,installation=t f="text" 1600000000')  # f is now a string field
    outbox = Outbox(tmp_path / "o.sqlite")
    good = points(63)
    outbox.put(good[:40])
    outbox.put_lines([("bad", "m,installation=t f=1.5 1600000000")])  # float into string field
    outbox.put(good[40:])
    outbox.commit()
    report = drain(outbox, InfluxSettings(url=influxd.url, database=influx_db))
    assert report.dead_lettered == 1
    assert outbox.depth() == 0
    [(line, error, status)] = outbox.dead_letter_rows()
    assert line == "m,installation=t f=1.5 1600000000"
    assert status == 400 and "field type conflict" in error
    stored = influxd.points(influx_db, "m", where="time >= 1700000000s")
    assert [row["f"] for row in stored] == [float(i) for i in range(63)]  # every good point
    counters = outbox.stats().counters
    assert counters["dead_lettered"] == 1 and counters["points_written"] == 63
    # The requests that held the bad point, halving 64 down to 1: 64, 32, 16, 8, 4, 2, 1.
    assert counters["write_errors.rejected"] == 7


@pytest.mark.integration
def test_a_stopped_server_keeps_everything_queued(tmp_path, private_influxd):
    private_influxd.create_database("db")
    private_influxd.stop()
    outbox = Outbox(tmp_path / "o.sqlite")
    outbox.put(points(10))
    outbox.commit()
    report = drain(outbox, InfluxSettings(url=private_influxd.url, database="db", timeout=2))
    assert report.retry is not None and report.written == 0
    assert outbox.depth() == 10
    assert outbox.stats().counters["write_errors.unreachable"] == report.requests
    private_influxd.start()
    assert drain(outbox, InfluxSettings(url=private_influxd.url, database="db")).written == 10


@pytest.mark.integration
def test_a_missing_database_is_retried_not_dead_lettered(tmp_path, influxd):
    outbox = Outbox(tmp_path / "o.sqlite")
    outbox.put(points(5))
    outbox.commit()
    report = drain(outbox, InfluxSettings(url=influxd.url, database="does_not_exist"))
    assert report.retry is not None and report.retry.status == 404
    assert (report.dead_lettered, outbox.depth()) == (0, 5)
    assert outbox.stats().counters["write_errors.not_found"] == 1


def test_a_row_replaced_while_its_batch_is_on_the_wire_in_a_backlog_drain_is_resent(
        tmp_path, influxd, influx_db):
    """The pipelined drain deletes whole batches by id range, except rows a commit replaced
    while their batch was in flight: those stay and their new values follow."""
    outbox = Outbox(tmp_path / "o.sqlite")
    outbox.put(points(30))
    outbox.commit()
    settings = InfluxSettings(url=influxd.url, database=influx_db)
    newer = Point.make("m", {"installation": "t"}, {"f": 999.0}, 1_700_000_015)

    class CommitWhileOnTheWire:
        """The real writer; while the second batch is in flight, the commit job commits new
        values for one of its points (as a repeated reading would)."""

        def __init__(self) -> None:
            self.real = make_writer(settings)
            self.calls = 0

        async def write(self, lines):
            self.calls += 1
            if self.calls == 2:
                outbox.put([newer])
                outbox.commit()
            return await self.real.write(lines)

        async def close(self) -> None:
            await self.real.close()

    async def go():
        writer = CommitWhileOnTheWire()
        try:
            return await Delivery(outbox, writer, 10).drain(force=True), writer.calls
        finally:
            await writer.close()

    report, calls = asyncio.run(go())
    assert calls == 4  # three full batches in the pipeline, then the replaced row alone
    assert report.written == 31
    assert outbox.depth() == 0
    rows = influxd.points(influx_db, "m")
    assert len(rows) == 30
    assert {row["time"]: row["f"] for row in rows}[1_700_000_015] == 999.0
