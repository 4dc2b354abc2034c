"""The opt-in `[http]` endpoint: off by default, loopback by default, `/healthz` by the watchdog's
rule, `/metrics` in the Prometheus format. The comparison of `/metrics` with `status` during a
real run is in tests/test_grafana.py (same run as the dashboards)."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from harness import http_get
from pydantic import ValidationError
from trickling_server import TricklingServer

from logger.app import http_endpoint
from logger.app import service as service_module
from logger.app.service import Service
from logger.config import HttpSettings, Settings
from logger.core.point import Point
from logger.testbed.influxd import free_port

ROOT = Path(__file__).resolve().parent.parent


def test_listen_is_off_by_default_and_a_bare_port_means_loopback():
    assert Settings().http.address is None
    assert HttpSettings(listen=":9480").address == ("127.0.0.1", 9480)
    assert HttpSettings(listen="9480").address == ("127.0.0.1", 9480)
    assert HttpSettings(listen="0.0.0.0:9480").address == ("0.0.0.0", 9480)
    assert HttpSettings(listen="[::1]:9480").address == ("::1", 9480)
    for wrong in ("127.0.0.1:http", "127.0.0.1:0", "127.0.0.1:70000"):
        with pytest.raises(ValidationError, match="listen"):
            HttpSettings(listen=wrong)
    assert http_endpoint.is_loopback("127.0.0.1") and http_endpoint.is_loopback("::1")
    assert http_endpoint.is_loopback("localhost")
    assert not http_endpoint.is_loopback("0.0.0.0") and not http_endpoint.is_loopback("10.0.0.2")


def test_without_listen_prometheus_client_is_never_imported(tmp_path):
    """It costs RSS on a Pi: only a service with `[http] listen` loads it."""
    code = (
        "import sys; from logger.app.service import Service; from logger.config import Settings;"
        f"Service(Settings(outbox={{'path': {str(tmp_path / 'o.sqlite')!r}}}));"
        "print('prometheus_client' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)
    assert done.stdout.strip() == "False", done.stderr




def service_with_endpoint(tmp_path: Path, influx_url: str) -> tuple[Service, str]:
    port = free_port()
    service = Service(Settings(
        local={"enabled": False},
        # timeout 1 s: the wedge limit is 3 x 1 + 5 = 8 s; auto_migrate off so the write happens.
        influx={"url": influx_url, "timeout": 1.0, "auto_migrate": False},
        outbox={"path": tmp_path / "outbox.sqlite"},
        health={"enabled": False},
        http={"listen": f"127.0.0.1:{port}"},
    ))
    service.outbox.put([Point("meter", (("installation", "home"),), (("power_w", 1.0),),
                              int(time.time()))])
    return service, f"http://127.0.0.1:{port}"


def test_healthz_turns_503_while_the_writer_is_wedged_and_200_again_after(tmp_path,
                                                                          monkeypatch):
    # Every flush has a budget (a trickling InfluxDB is cut off by it), so a wedged writer, the
    # backstop this endpoint reports, is simulated by lifting the budget.
    monkeypatch.setattr(service_module, "FLUSH_BUDGET_FACTOR", 100.0)
    server = TricklingServer()
    service, base = service_with_endpoint(tmp_path, server.url)

    async def scenario() -> dict[str, tuple[int, str]]:
        seen = {}
        task = asyncio.create_task(service.run())
        await asyncio.sleep(2.0)
        seen["early"] = await asyncio.to_thread(http_get, base + "/healthz")
        await asyncio.sleep(9.0)  # the first write hangs from ~1 s on; the limit is 8 s
        seen["wedged"] = await asyncio.to_thread(http_get, base + "/healthz")
        seen["metrics"] = await asyncio.to_thread(http_get, base + "/metrics")
        server.close()  # the hung write fails now; the writer is healthy again
        await asyncio.sleep(1.5)
        seen["after"] = await asyncio.to_thread(http_get, base + "/healthz")
        service.request_stop()
        await asyncio.wait_for(task, 20)
        return seen

    try:
        seen = asyncio.run(scenario())
    finally:
        server.close()
    assert seen["early"] == (200, "ok\n")
    status, reason = seen["wedged"]
    assert status == 503 and reason.startswith("the InfluxDB writer is wedged"), seen["wedged"]
    assert "jullix_healthy 0.0" in seen["metrics"][1]
    assert seen["after"] == (200, "ok\n")


def test_a_stuck_event_loop_is_answered_503_from_the_endpoints_own_thread(tmp_path,
                                                                           monkeypatch):
    monkeypatch.setattr(http_endpoint, "LOOP_TIMEOUT", 0.5)
    service, base = service_with_endpoint(tmp_path, "http://127.0.0.1:9")

    async def scenario() -> tuple[tuple[int, str], tuple[int, str], tuple[int, str]]:
        task = asyncio.create_task(service.run())
        await asyncio.sleep(1.0)
        loop = asyncio.get_running_loop()
        stuck = loop.run_in_executor(None, http_get, base + "/healthz")
        time.sleep(1.5)  # blocks the event loop, as a hung synchronous call would
        during = await stuck
        others = await asyncio.to_thread(http_get, base + "/nothing"), await asyncio.to_thread(
            http_get, base + "/healthz")
        service.request_stop()
        await asyncio.wait_for(task, 20)
        return during, *others

    during, missing, after = asyncio.run(scenario())
    assert during == (503, "the event loop did not answer within 0.5 s\n")
    assert missing[0] == 404 and after == (200, "ok\n")


def test_metrics_speak_the_prometheus_text_format(tmp_path):
    from prometheus_client.parser import text_string_to_metric_families

    service, base = service_with_endpoint(tmp_path, "http://127.0.0.1:9")

    async def scenario() -> tuple[tuple[int, str], float, float]:
        task = asyncio.create_task(service.run())
        await asyncio.sleep(2.0)
        asked = time.time()
        answer = await asyncio.to_thread(http_get, base + "/metrics")
        answered = time.time()
        service.request_stop()
        await asyncio.wait_for(task, 20)
        return answer, asked, answered

    (status, text), asked, answered = asyncio.run(scenario())
    assert status == 200
    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert families["jullix_outbox_depth_points"].samples[0].value == 1  # InfluxDB unreachable
    db = sqlite3.connect(tmp_path / "outbox.sqlite")
    [(accepted_at,)] = db.execute("SELECT accepted_at FROM outbox").fetchall()
    db.close()
    age = families["jullix_outbox_oldest_age_seconds"].samples[0].value
    # The age is taken while the request is served: between asking and the answer (a loaded
    # machine may take a while to run the request's thread).
    assert asked - accepted_at - 0.25 <= age <= answered - accepted_at + 0.25
    assert families["jullix_write_errors"].type == "counter"
    [unreachable] = families["jullix_write_errors"].samples
    assert unreachable.labels == {"class": "unreachable"} and unreachable.value >= 1
    assert families["jullix_logger_info"].samples[0].labels["installation"] == "home"
