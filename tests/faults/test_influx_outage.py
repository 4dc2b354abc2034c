"""(a) InfluxDB stopped and restarted mid-run, then killed (a crash) and restarted.

Expected: every meter reading the box served is in InfluxDB exactly once, at its meter time,
in one series; the logger survived both outages and said so in its log.
"""

from __future__ import annotations

import time

from harness import SimulatorProcess, wait_until

from faults.accounting import GROUND_TRUTH, account
from faults.registry import scenario
from faults.runner import logger_config, meter_times, start_logger, wait_for_meter_points


@scenario("influx_stop_and_crash", "InfluxDB stopped 8 s, then SIGKILLed 8 s, mid-run")
def test_influxdb_stopped_and_crashed_mid_run(tmp_path, private_influxd, accounting):
    server = private_influxd
    sim = SimulatorProcess(tmp_path, "--seed", "11")
    config = logger_config(tmp_path, sim, {"url": server.url, "database": "jullix"})
    logger = start_logger(tmp_path, config)
    try:
        wait_for_meter_points(server, "jullix", 3, 30, "first writes")
        server.stop()  # clean stop
        time.sleep(8)
        assert logger.proc.poll() is None, "the logger must survive the outage"
        server.start()
        before = len(sim.served())
        wait_until(lambda: len(meter_times(server, "jullix")) >= before, 60,
                   what="backlog after the stop drained")
        server.kill()  # crash: no shutdown, whatever it acknowledged must survive
        time.sleep(8)
        assert logger.proc.poll() is None, "the logger must survive the crash"
        server.start()
        before = len(sim.served())
        wait_until(lambda: len(meter_times(server, "jullix")) >= before, 60,
                   what="backlog after the crash drained")
        assert logger.stop() == 0, logger.output()
        served = GROUND_TRUTH["local"].served(sim)
    finally:
        logger.close()
        sim.close()
    result = account("influx_stop_and_crash", server, "jullix", served)
    accounting.add(result)
    result.assert_exact()
    assert "InfluxDB write failed" in logger.output()
