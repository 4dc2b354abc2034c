"""(issue 19) One poisoned value stops nothing: a device id no UTF-8 can carry, for a minute.

The box lists, besides its real inverters, one solar device whose id is `"inv\\ud800"`: a legal
JSON escape for a lone UTF-16 surrogate, a Python string that neither SQLite nor an HTTP body can
encode. Before issue 19 that one point entered the outbox, every commit and every write failed,
and nothing of any source reached InfluxDB or the disk. Now the local parser refuses the device
(counted as `local_solar_bad_id`, logged, rate-limited), and everything else flows: every meter
reading the box served, every P1 telegram, every poll's power_flow and the real inverters' rows
are in InfluxDB exactly once, with no restart of the logger.
"""

from __future__ import annotations

import time

from harness import write_config

from faults.accounting import GROUND_TRUTH, account, outbox_counters
from faults.receive_times import account_receive_times
from faults.registry import scenario
from faults.runner import start_logger, wait_for_meter_points
from faults.test_p1_faults import DB, P1Sim, finish

POISON_SECONDS = 60


@scenario("poisoned_device_id", "one solar id a lone surrogate ('inv\\ud800') for a minute; "
          "local + P1", sources=("local", "p1"), budget_s=150)
def test_one_poisoned_device_id_stops_nothing(tmp_path, private_influxd, accounting):
    server = private_influxd
    sim = P1Sim(tmp_path, 31, 1)  # real time: the local meter and the P1 stream side by side
    outbox = tmp_path / "outbox.sqlite"
    config = write_config(tmp_path / "config.toml", {
        "local": {"url": sim.url, "interval": 2.0, "timeout": 2.0},
        "p1": {"enabled": True, "host": "127.0.0.1", "port": sim.p1_port, "idle_timeout": 10.0},
        "influx": {"url": server.url, "database": DB, "timeout": 3.0},
        "outbox": {"path": str(outbox)},
    })
    logger = start_logger(tmp_path, config)
    try:
        wait_for_meter_points(server, DB, 3, 40, "first writes")
        pid = logger.proc.pid
        sim.set_faults(poison_ids=["solar"])
        served_before = len(sim.served())
        time.sleep(POISON_SECONDS)
        sim.set_faults(reset=True)
        polls_poisoned = len(sim.served()) - served_before  # polls that got the poisoned list
        time.sleep(6)
        assert logger.proc.poll() is None and logger.proc.pid == pid, "no restart, no crash"
        served_local = GROUND_TRUTH["local"].served(sim)
        served_p1 = finish(sim, logger)
    finally:
        logger.close()
        sim.close()
    meter = account("poisoned_device_id", server, DB, served_local)
    p1 = account("poisoned_device_id", server, DB, served_p1, GROUND_TRUTH["p1"])
    flow = account_receive_times("poisoned_device_id", server, DB, served_local,
                                 since=min(served_local))
    refused = outbox_counters(outbox).get("local_solar_bad_id", 0)
    for result in (meter, p1, flow):
        result.notes["refused"] = refused
        accounting.add(result)
    meter.assert_exact()
    p1.assert_exact()
    flow.assert_exact()
    # Every poll's good inverters are there, once per poll; the poisoned one nowhere.
    solar = server.points(DB, "solar")
    flows = server.points(DB, "power_flow")
    per_inverter: dict[str, int] = {}
    for row in solar:
        per_inverter[row["localid"]] = per_inverter.get(row["localid"], 0) + 1
    assert "P99" not in per_inverter, "the poisoned device was written"
    assert per_inverter and all(n == len(flows) for n in per_inverter.values()), (
        per_inverter, len(flows))
    assert polls_poisoned >= POISON_SECONDS / 2 - 3
    assert refused >= polls_poisoned - 2, (refused, polls_poisoned)  # counted, each answer
    output = logger.output()
    assert "Traceback" not in output, output[-3000:]
    said = output.count("cannot be a tag")
    assert 1 <= said <= 3, f"logged once (rate-limited), not {said} times"
