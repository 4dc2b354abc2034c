"""(issue 24) On every flavour the service logs a simulated hour: `python -m logger run` against
`python -m logger simulate --speed 360` (an hour in ten seconds), through the real InfluxDB 1.6
or a reproduction of another flavour in front of it (tests/flavours.py). Every meter reading the
box served is stored exactly once, and the journal says which InfluxDB it is and what works.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import pytest
from faults.accounting import GROUND_TRUTH, account
from faults.runner import start_logger
from flavours import FLAVOURS, start
from harness import SimulatorProcess, wait_until, write_config

pytestmark = pytest.mark.integration

SPEED = 360  # simulated seconds per real second
JOURNAL = {"1.6": "InfluxDB 1.6.7~rc0 (OSS): long reads: one query each",
           "1.8": "InfluxDB 1.8.10 (OSS): writes: API v2",
           "2.7": "InfluxDB v2.7.11 (OSS): backfill --undo: /api/v2/delete",
           "3 Core": "InfluxDB 3 Core 3.11.4: long reads (gap detection, the ledger, undo's "
                     "counts): in windows of at most 1d",
           "3 Enterprise": "InfluxDB 3 Enterprise 3.11.4: ledger: database",
           "Cloud Serverless": "InfluxDB Cloud (cloud2): migrations: bucket"}


def simulated_span(sim: SimulatorProcess) -> int:
    times = [int(datetime.fromisoformat(r["utc"]).timestamp()) for r in sim.served()]
    return max(times) - min(times) if times else 0


@pytest.mark.parametrize("name", FLAVOURS)
def test_the_service_logs_a_simulated_hour(name, tmp_path, influxd):
    flavour = start(name, influxd.url)
    db = f"s_{uuid.uuid4().hex[:8]}"
    sim = SimulatorProcess(tmp_path, "--seed", "24", "--speed", str(SPEED),
                           "--start", "2026-11-12T09:00:00+01:00")
    config = write_config(tmp_path / "config.toml", {
        "local": {"url": sim.url, "interval": 1.0, "timeout": 2.0},
        "influx": flavour.influx(db, timeout=5.0),
        "outbox": {"path": str(tmp_path / "outbox.sqlite")},
    })
    logger = start_logger(tmp_path, config)
    try:
        wait_until(lambda: simulated_span(sim) >= 3600, 60, what="a simulated hour served")
        served = GROUND_TRUTH["local"].served(sim)
        wait_until(lambda: len(influxd.points(db, "meter")) >= len(served)
                   if db in influxd.databases() else False, 30, what="every reading stored")
        assert logger.stop() == 0, logger.output()
        served = GROUND_TRUTH["local"].served(sim)
    finally:
        logger.close()
        sim.close()
        flavour.stop()
    result = account(f"flavour_hour[{name}]", influxd, db, served)
    print(result.line())
    result.assert_exact()
    assert max(served) - min(served) >= 3600
    output = logger.output()
    assert JOURNAL[name] in output, output[-3000:]
    assert "Traceback" not in output, output[-3000:]
