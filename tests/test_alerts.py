"""Warnings that matter: raised once in the journal and shown by `status` while they hold.

The unit tests feed observations straight into the checks; the end-to-end test makes the
simulator misbehave (P1 consent expires, a device type disappears, the meter's clock jumps) and
reads the running logger's journal and `status`.
"""

from __future__ import annotations

import asyncio
import io
import logging
import re
import time
from datetime import UTC, datetime, timedelta

import pytest
from harness import Process, SimulatorProcess, wait_until, write_config

from logger.app.alerts import CONFIRM, CaptarConsent, ClockSkew, DeviceTypes, active_warnings
from logger.app.local_job import LocalJob
from logger.cli.status import print_status
from logger.config import OutboxSettings, Settings
from logger.core.problems import Problems
from logger.outbox import Outbox
from logger.sources.local.collector import EndpointResult, PollResult, Status
from logger.testbed.influxd import free_port

WARN_LOGGER = "jullix_logger.app.alerts"


def warnings_logged(caplog: pytest.LogCaptureFixture, level: int = logging.WARNING) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name == WARN_LOGGER and r.levelno == level]


def status_text(outbox_path) -> str:
    out = io.StringIO()
    print_status(Settings(outbox=OutboxSettings(path=outbox_path)), out)
    return out.getvalue()


def test_telegrams_without_the_month_peak_after_having_it_warn_once(tmp_path, caplog):
    caplog.set_level(logging.INFO, WARN_LOGGER)
    outbox = Outbox(tmp_path / "o.sqlite")
    consent = CaptarConsent(outbox)
    for _ in range(10):
        consent.observe(False)  # a meter that never sent 1.6.0: nothing to say
    assert warnings_logged(caplog) == []
    consent.observe(True)
    for _ in range(CONFIRM - 1):
        consent.observe(False)
    assert warnings_logged(caplog) == []  # not yet confirmed
    for _ in range(20):
        consent.observe(False)
    [warning] = warnings_logged(caplog)
    assert "without 1-0:1.6.0" in warning and "consent" in warning
    outbox.commit()
    assert "WARNING" in status_text(tmp_path / "o.sqlite")
    consent.observe(True)
    assert len(warnings_logged(caplog, logging.INFO)) == 1
    outbox.commit()
    assert "WARNING" not in status_text(tmp_path / "o.sqlite")


def test_having_had_the_month_peak_survives_a_restart(tmp_path, caplog):
    outbox = Outbox(tmp_path / "o.sqlite")
    CaptarConsent(outbox).observe(True)
    outbox.commit()
    outbox.close()
    restarted = CaptarConsent(Outbox(tmp_path / "o.sqlite"))
    for _ in range(CONFIRM):
        restarted.observe(False)
    assert len(warnings_logged(caplog)) == 1


def test_a_device_type_that_disappears_warns_once_and_a_failed_answer_is_not_a_removal(
        tmp_path, caplog):
    caplog.set_level(logging.INFO, WARN_LOGGER)
    outbox = Outbox(tmp_path / "o.sqlite")
    devices = DeviceTypes(outbox)
    devices.observe(["solar", "battery"], ["charger", "plug"])  # this box has no charger, plug
    for _ in range(10):
        devices.observe(["battery"], ["charger", "plug"])  # solar failed: neither list
    assert warnings_logged(caplog) == []
    for _ in range(10):
        devices.observe(["battery"], ["solar", "charger", "plug"])
    [warning] = warnings_logged(caplog)
    assert "/api/ems/solar no longer reports any device" in warning
    assert list(active_warnings(outbox.stats().meta)) == ["local_solar_gone"]
    devices.observe(["solar", "battery"], ["charger", "plug"])
    assert active_warnings(outbox.stats().meta) == {}
    assert len(warnings_logged(caplog, logging.INFO)) == 1


def test_the_local_job_tells_a_failed_answer_from_an_empty_one(tmp_path, caplog):
    outbox = Outbox(tmp_path / "o.sqlite")
    problems = Problems(logging.getLogger("test"))
    job = LocalJob(Settings(local={"url": "http://127.0.0.1:9"}), outbox, problems)

    def poll(solar: EndpointResult) -> PollResult:
        return PollResult(endpoints={"solar": solar,
                                     "battery": EndpointResult("battery", Status.ABSENT)})

    job._observe_device_types(poll(EndpointResult("solar", Status.OK, payload=[{"id": "x"}])))
    for _ in range(10):  # timeouts, 5xx, a payload that is not a device list: not a removal
        job._observe_device_types(poll(EndpointResult("solar", Status.FAILED, error="timed out")))
        job._observe_device_types(poll(EndpointResult("solar", Status.OK, payload="garbage")))
    assert warnings_logged(caplog) == []
    for _ in range(CONFIRM):
        job._observe_device_types(poll(EndpointResult("solar", Status.OK, payload={"data": []})))
    assert list(active_warnings(outbox.stats().meta)) == ["local_solar_gone"]
    asyncio.run(job.close())


def test_a_meter_clock_more_than_two_minutes_off_warns_once(tmp_path, caplog):
    caplog.set_level(logging.INFO, WARN_LOGGER)
    outbox = Outbox(tmp_path / "o.sqlite")
    clock = ClockSkew(outbox, "P1")
    host = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    for i in range(10):
        clock.observe(host + timedelta(seconds=119), host + timedelta(seconds=i))
    assert warnings_logged(caplog) == []  # drifting to 119 s ... 110 s: within the limit
    for _ in range(10):
        clock.observe(host - timedelta(minutes=5, seconds=3), host)
    [warning] = warnings_logged(caplog)
    assert "5 min 3 s behind this host's clock" in warning
    for _ in range(CONFIRM):
        clock.observe(host, host)
    assert active_warnings(outbox.stats().meta) == {}


# -- the real programs -------------------------------------------------------------------------


@pytest.mark.integration
def test_the_three_warnings_appear_in_the_journal_and_status_when_the_box_misbehaves(tmp_path):
    p1_port = free_port()
    sim = SimulatorProcess(tmp_path, "--p1-port", str(p1_port), "--devices", "solar,battery",
                           "--seed", "21")
    config = write_config(tmp_path / "config.toml", {
        "local": {"url": sim.url, "interval": 1.0, "timeout": 2.0},
        "p1": {"enabled": True, "host": "127.0.0.1", "port": p1_port, "idle_timeout": 5.0},
        "outbox": {"path": str(tmp_path / "outbox.sqlite")},
    })
    logger = Process(["run", "-c", str(config)], tmp_path / "logger.log")

    def status() -> str:
        return status_text(tmp_path / "outbox.sqlite")

    try:
        wait_until(lambda: re.search(r"[1-9]\d* in total", status())
                   and "local.solar" in status(), 30,
                   what="P1 telegrams and a solar sample")
        assert "WARNING" not in status()
        sim.control("POST", "faults", {"p1": {"no_captar": True}, "absent": ["solar"]})
        wait_until(lambda: status().count("WARNING") == 2, 20, what="two warnings in status")
        truth = sim.control("GET", "p1")["sent"]
        assert [s["captar"] for s in truth if s["clients"]][-1] is False  # the oracle agrees
        sim.control("POST", "clock", {"jump_seconds": 630})
        wait_until(lambda: status().count("WARNING") == 4, 20,
                   what="clock warnings of the local API and P1 too")
        text = status()
        sim.control("POST", "faults", {"p1": {"no_captar": False}, "absent": []})
        wait_until(lambda: status().count("WARNING") == 2, 20, what="consent and solar back")
        time.sleep(2)
        assert logger.stop() == 0
        output = logger.output()
    finally:
        logger.close()
        sim.close()
    assert "without 1-0:1.6.0" in text and "/api/ems/solar no longer reports" in text
    assert "local: the meter's clock is 10 min" in text
    assert "P1: the meter's clock is 10 min" in text
    for needle in ("without 1-0:1.6.0", "/api/ems/solar no longer reports any device",
                   "local: the meter's clock is", "P1: the meter's clock is"):
        assert output.count(needle) == 1, (needle, output[-3000:])
    assert "carry 1-0:1.6.0 (the month's capacity peak) again" in output
    assert "/api/ems/solar reports devices again" in output
