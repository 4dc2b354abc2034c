"""Odd answers from what should be InfluxDB: a 2xx that is no write confirmation, a 200 from
`/query` that is not JSON. Nothing may be taken as written, nothing may crash.

The answers come from `fault_proxy.FaultProxy` in `impostor` mode in front of a real influxd: an
HTML page with the status asked for, as a web server or a login page at the wrong URL sends it.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
from fault_proxy import FaultProxy
from harness import ROOT, write_config
from test_delivery import drain, points

from logger.config import InfluxSettings
from logger.outbox import Outbox
from logger.sink.writers import Outcome, classify

pytestmark = pytest.mark.integration


@pytest.fixture
def impostor(influxd):
    proxy = FaultProxy(influxd.url).start()
    proxy.set_mode("impostor", status=200)
    yield proxy
    proxy.stop()


def test_only_204_or_an_empty_2xx_confirms_a_write():
    assert classify(204, "").outcome is Outcome.OK
    assert classify(200, "").outcome is Outcome.OK
    for status in (200, 201, 202):
        result = classify(status, "<html>Welcome to nginx!</html>")
        assert result.outcome is Outcome.RETRY and "not InfluxDB's answer" in result.message


@pytest.mark.parametrize("api", ["v1", "v2"])
def test_a_200_page_is_not_a_write_the_points_stay_queued_until_influxdb_answers(
        tmp_path, influxd, influx_db, impostor, api):
    settings = (InfluxSettings(url=impostor.url, database=influx_db) if api == "v1" else
                InfluxSettings(url=impostor.url, api="v2", bucket=influx_db, token="x"))
    outbox = Outbox(tmp_path / "o.sqlite")
    outbox.put(points(20))
    outbox.commit()
    report = drain(outbox, settings)
    assert report.written == 0 and report.retry is not None
    assert report.retry.status == 200 and "not InfluxDB's answer" in report.retry.message
    assert outbox.depth() == 20
    assert influxd.points(influx_db, "m") == []
    impostor.set_mode("pass")
    assert drain(outbox, settings).written == 20
    assert outbox.depth() == 0 and len(influxd.points(influx_db, "m")) == 20


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "logger", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def test_a_non_json_200_from_query_is_a_clear_error_wherever_it_is_read(
        tmp_path, influx_db, impostor):
    config = write_config(tmp_path / "c.toml", {
        "local": {"enabled": False},
        "influx": {"url": impostor.url, "database": influx_db, "timeout": 2.0},
        "outbox": {"path": str(tmp_path / "outbox.sqlite")},
    })
    outputs = {}
    for command in (["check"], ["migrate"], ["backfill", "--dry-run"], ["run", "--seconds", "3"]):
        result = cli(*command, "-c", str(config))
        text = outputs[command[0]] = result.stdout + result.stderr
        assert "Traceback" not in text, text
        assert "/query answered HTTP 200 with a body that is not JSON" in text, (command, text)
        assert result.returncode == (0 if command[0] == "run" else 1), (command, text)
    assert "FAIL influx" in outputs["check"]
    assert "does not answer like InfluxDB" in outputs["migrate"]
    assert "re-checking every migration" not in outputs["migrate"]
    assert "backfill failed" in outputs["backfill"]
    assert "not writing into a database that is not fully migrated" in outputs["run"]
