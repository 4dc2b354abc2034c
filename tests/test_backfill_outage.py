"""A backfill that meets an unwell cloud (or InfluxDB) never records a gap it did not repair.

Real influxd and the simulator in process; the expected cloud points are what the simulated
cloud serves strictly inside the gap, read with plain httpx (tests/backfill_world.py).
"""

from __future__ import annotations

import io
import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from backfill_world import World, with_world

from logger.app.backfill import run as backfill_module
from logger.app.backfill.command import backfill_by_hand
from logger.app.backfill.state import STATE_FILE
from logger.app.cloud_jobs import CloudJobs
from logger.cli.status import print_status
from logger.config import Settings
from logger.core.problems import Problems
from logger.outbox import Outbox, keys
from logger.sources.cloud.client import CloudClient

log = logging.getLogger("test")


def state_of(world: World) -> dict:
    path = world.settings.outbox.path.parent / STATE_FILE
    return json.loads(path.read_text())["installations"]["test"]


@pytest.mark.integration
def test_with_a_pinned_installation_an_outage_leaves_the_gap_until_a_healthy_run(
        influxd, influx_db, tmp_path, token, checked_logs):
    """The issue's reproduction: the id is pinned, so no discovery call can fail first; the
    history itself answers 503, then garbage, then 404 for the grid; then the cloud heals."""
    async def body(world: World):
        served = await world.served()
        expected = world.expected_inside(served)
        assert len(expected) > 50
        requests = world.sim.cloud_api.requests
        for n, fault in enumerate(({"status": 503}, {"malformed": True},
                                   {"missing": ["grid"]}), start=1):
            world.sim.cloud_api.faults.update({"reset": True, **fault})
            asked = len(requests)
            report = await world.run()
            assert report.api_calls > 0 and report.points_written == 0, fault
            assert all(path.startswith("history/recent/") for path, _ in requests[asked:])
            assert [g.status for g in report.gaps] == ["remains"], fault
            assert world.cloud_times() == []
            saved = state_of(world)
            assert saved["fetched"] == []  # not recorded as repaired
            assert [row[:3] for row in saved["failing"]] == [[world.gap.start, world.gap.end, n]]
        assert "no grid power history" in report.gaps[0].reason

        world.sim.cloud_api.faults.update({"reset": True})
        healed = await world.run()
        assert healed.remaining == [] and healed.points_written == len(expected)
        assert world.cloud_times() == expected
        assert state_of(world)["failing"] == []
        again = await world.run()
        assert again.api_calls == 0 and [g.status for g in again.gaps] == ["already repaired"]

    with_world(influxd, influx_db, tmp_path, token, body, pinned=True)


@pytest.mark.integration
def test_the_scheduled_job_lets_a_failing_gap_wait_and_status_says_until_when(
        influxd, influx_db, tmp_path, token, checked_logs, monkeypatch):
    async def body(world: World):
        outbox = Outbox(world.settings.outbox.path)
        client = CloudClient(world.sim.cloud_url, token, backoff=0.05)
        problems = Problems(log, on_count=outbox.count)
        jobs = CloudJobs(world.settings, client, outbox.put, problems, outbox)
        try:
            world.sim.cloud_api.faults.update({"status": 503})
            await jobs.run_backfill()
            first_calls = client.calls
            assert first_calls > 0 and outbox.depth() == 0
            await jobs.run_backfill()  # an hour has not passed: the gap waits, no call
            assert client.calls == first_calls

            out = io.StringIO()
            print_status(world.settings, out)
            text = out.getvalue()
            assert "1 gap waits for another try" in text, text
            assert "failed 1x" in text and "HTTP 503" in text and "(in " in text

            world.sim.cloud_api.faults.update({"reset": True})
            real = backfill_module.time.time
            monkeypatch.setattr(backfill_module.time, "time", lambda: real() + 3700)
            await jobs.run_backfill()
            assert client.calls > first_calls
            assert outbox.depth() == len(world.expected_inside(await world.served()))
            assert state_of(world)["failing"] == []
        finally:
            await jobs.close()
            outbox.close()

    with_world(influxd, influx_db, tmp_path, token, body, pinned=True)


@pytest.mark.integration
def test_a_404_for_a_device_the_house_has_never_becomes_0_w(
        influxd, influx_db, tmp_path, token, checked_logs):
    """A PV home whose (inferred) solar history path answers 404: no solar_w = 0, no home_w.
    The charger the local poller found absent is 0 W; without that record it is left out."""
    async def body(world: World):
        outbox = Outbox(world.settings.outbox.path)
        outbox.set_meta(keys.local_endpoint_status("solar"), "ok")
        outbox.set_meta(keys.local_endpoint_status("charger"), "absent")
        outbox.commit()
        outbox.close()
        world.sim.cloud_api.faults.update({"missing": ["solar"]})
        report = await world.run()
        points = world.cloud_points()
        assert report.points_written == len(points) > 50
        assert max(abs(p["grid_w"]) for p in points) > 0  # a real series, not all zero
        for p in points:
            assert p.get("solar_w") is None and p.get("home_w") is None
            assert p["car_w"] == 0.0 and p["grid_w"] is not None

        world.influxd.query("DROP SERIES FROM power_flow WHERE source = 'cloud'", db=world.db)
        (world.settings.outbox.path.parent / STATE_FILE).unlink()
        outbox = Outbox(world.settings.outbox.path)
        outbox.set_meta(keys.local_endpoint_status("charger"), "failed")
        outbox.commit()
        outbox.close()
        await world.run()
        points = world.cloud_points()
        assert points and all(p.get("car_w") is None and p.get("solar_w") is None
                              for p in points)

    with_world(influxd, influx_db, tmp_path, token, body)


class _NotInflux(BaseHTTPRequestHandler):
    """What a reverse proxy's login page answers: 200, and HTML."""

    def do_GET(self):
        body = b"<html><body>Please log in</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_a_query_answer_that_is_not_json_is_a_counted_failure_not_a_crash(tmp_path, token):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _NotInflux)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    settings = Settings(installation="test", cloud={"enabled": True, "token": token,
                                                    "url": "http://127.0.0.1:9/api/v1"},
                        influx={"url": url}, outbox={"path": str(tmp_path / "o.sqlite")})
    try:
        import asyncio

        async def main():
            problems = Problems(log)
            jobs = CloudJobs.create(settings, lambda points: None, problems)
            try:
                await jobs.run_backfill()
            finally:
                await jobs.close()
            result = await backfill_by_hand(settings, None, None, dry_run=True)
            return problems, result

        problems, result = asyncio.run(main())
        assert problems.counts["backfill_failed"] == 1
        assert result.report is None and "not JSON" in result.error
    finally:
        server.shutdown()
        server.server_close()
