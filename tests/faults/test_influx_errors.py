"""(b) InfluxDB answering 500s, then answering too slowly, through `tests/fault_proxy.py`.

The slow phase is the nasty one: the proxy forwards the write (InfluxDB applies it) and holds the
answer longer than the logger's `[influx] timeout`, so the logger sees a failure, keeps the rows
and sends them again. The second write overwrites the identical points: no duplicate. Run through
both writers (v1: httpx; v2: influxdb-client, the proxy mapping `/api/v2/write` to `/write`),
whose timeouts work differently.
"""

from __future__ import annotations

import time

import pytest
from fault_proxy import FaultProxy
from harness import SimulatorProcess, wait_until

from faults.accounting import GROUND_TRUTH, account
from faults.registry import scenario
from faults.runner import logger_config, meter_times, start_logger, wait_for_meter_points

TIMEOUT = 1.0  # the logger's [influx] timeout
SLOW = 2.5  # how long the proxy holds an applied write's answer


@pytest.mark.parametrize("api", ["v1", "v2"])
@scenario("influx_500_then_slow", "InfluxDB answers 500, then answers after the client timeout")
def test_influxdb_errors_then_slow_answers(tmp_path, private_influxd, accounting, api):
    server = private_influxd
    proxy = FaultProxy(server.url).start()
    if api == "v1":
        influx = {"url": proxy.url, "api": "v1", "database": "jullix", "timeout": TIMEOUT}
    else:
        influx = {"url": proxy.url, "api": "v2", "bucket": "jullix", "token": "t0ken",
                  "timeout": TIMEOUT}
    sim = SimulatorProcess(tmp_path, "--seed", "12")
    logger = start_logger(tmp_path, logger_config(tmp_path, sim, influx))
    try:
        wait_for_meter_points(server, "jullix", 3, 30, "first writes")
        proxy.set_mode("error", status=500)
        time.sleep(6)
        proxy.set_mode("slow", delay=SLOW)
        wait_until(lambda: proxy.client_gone >= 2, 60,
                   what="two applied writes whose answer came after the client gave up")
        proxy.set_mode("pass")
        before = len(sim.served())
        wait_until(lambda: len(meter_times(server, "jullix")) >= before, 90,
                   what="the backlog delivered")
        assert logger.stop() == 0, logger.output()
        served = GROUND_TRUTH["local"].served(sim)
    finally:
        logger.close()
        sim.close()
        proxy.stop()
    result = account(f"influx_500_then_slow[{api}]", server, "jullix", served)
    result.notes.update(
        errors=proxy.counts["error:write"], slow_writes=proxy.counts["slow:write"],
        applied_then_timed_out=proxy.client_gone,
    )
    accounting.add(result)
    result.assert_exact()
    assert proxy.counts["error:write"] >= 1
    # The re-sends really happened: more slow writes than the one that first timed out.
    assert proxy.counts["slow:write"] + proxy.counts["pass:write"] > proxy.client_gone
    assert "InfluxDB write failed" in logger.output()
