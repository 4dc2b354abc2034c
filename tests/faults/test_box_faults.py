"""(d) The box's local API timing out, answering 5xx, garbage (truncated JSON) and hanging up.

Every reading the simulator really delivered (a valid 200 answer that reached the logger) must be
in InfluxDB exactly once; nothing may come from an answer that failed: a row at an instant the
box never delivered is `unexpected` in the accounting.
"""

from __future__ import annotations

import time

from harness import SimulatorProcess

from faults.accounting import GROUND_TRUTH, account
from faults.registry import scenario
from faults.runner import logger_config, start_logger, wait_for_meter_points

LOCAL_TIMEOUT = 1.0

PHASES = [  # (name, fault settings for POST /_sim/faults, seconds)
    ("5xx half the time", {"error_rate": 0.5, "error_status": 503}, 6),
    ("garbage half the time", {"invalid_json_rate": 0.5}, 6),
    ("5xx and garbage", {"error_rate": 0.3, "invalid_json_rate": 0.3, "error_status": 500}, 5),
    ("meter slower than the timeout", {"delay_endpoints": {"meter": LOCAL_TIMEOUT + 1.5}}, 6),
    ("every endpoint slow", {"delay": LOCAL_TIMEOUT + 1.5}, 5),
    ("box gone (connection closed)", {"down_mode": "close", "down_seconds": 4}, 5),
    ("box down (503)", {"down_mode": "503", "down_seconds": 3}, 4),
]


@scenario("box_timeouts_5xx_garbage", "local API: 5xx, truncated JSON, timeouts, hang-ups")
def test_box_misbehaving(tmp_path, influxd, influx_db, accounting):
    sim = SimulatorProcess(tmp_path, "--seed", "14", "--devices", "solar,battery,charger,plug")
    config = logger_config(tmp_path, sim, {"url": influxd.url, "database": influx_db},
                           local={"timeout": LOCAL_TIMEOUT})
    logger = start_logger(tmp_path, config)
    try:
        wait_for_meter_points(influxd, influx_db, 3, 30, "first writes")
        for _name, faults, seconds in PHASES:
            sim.set_faults(reset=True, **faults)
            time.sleep(seconds)
        sim.set_faults(reset=True)
        time.sleep(4)
        assert logger.proc.poll() is None, "the logger must survive every fault"
        assert logger.stop() == 0, logger.output()
        served = GROUND_TRUTH["local"].served(sim)
    finally:
        logger.close()
        sim.close()
    result = account("box_timeouts_5xx_garbage", influxd, influx_db, served)
    result.notes["phases"] = len(PHASES)
    accounting.add(result)
    result.assert_exact()
    output = logger.output()
    assert "failed" in output
    assert "Traceback" not in output, output[-3000:]
