"""(issue 19) A restart right after the clock stepped back a few seconds overwrites nothing.

The host clock runs a little ahead (a Pi whose NTP has not answered yet, or a slow one); the
logger polls every second and stamps solar, battery and power_flow with the host time, which is
within 30 s of the meter clock and so trusted. Then NTP steps the clock back 12 s and the logger
restarts (an upgrade, a crash). Before issue 19 the new run knew nothing of the seconds the old
one had stamped: its first twelve polls landed on seconds already written and replaced those
points in InfluxDB. Now the last receive second survives the restart (the outbox's meta) and the
new run continues after it. Every poll of both runs keeps a power_flow row of its own.
"""

from __future__ import annotations

from harness import SimulatorProcess

from faults.faketime import check_faketime_works, faketime_env, libfaketime
from faults.registry import scenario
from faults.runner import logger_config, start_logger, wait_for_meter_points

AHEAD_S = 12


@scenario("restart_after_step_back", "restart right after the clock stepped back 12 s; 1 s polls",
          budget_s=90)
def test_a_restart_after_a_step_back_overwrites_no_receive_second(
        tmp_path, influxd, influx_db, accounting):
    library = libfaketime()
    offset_file = tmp_path / "faketime-offset"
    env = faketime_env(library, offset_file)
    check_faketime_works(env, offset_file)
    sim = SimulatorProcess(tmp_path, "--seed", "33")
    config = logger_config(tmp_path, sim, {"url": influxd.url, "database": influx_db},
                           local={"interval": 1.0})
    try:
        # First ahead, yet within the 30 s the clock rule trusts; then stepped back to true.
        for run, offset in (("before", AHEAD_S), ("after", 0)):
            offset_file.write_text(f"{offset:+d}\n")
            logger = start_logger(tmp_path, config, run, env=env)
            try:
                start = len(sim.served())
                wait_for_meter_points(influxd, influx_db, start + 15, 40, f"polls {run}")
                assert logger.stop() == 0, logger.output()
            finally:
                logger.close()
        served = sim.served()
    finally:
        sim.close()
    flows = influxd.points(influx_db, "power_flow")
    times = [row["time"] for row in flows]
    meter_readings = len(influxd.points(influx_db, "meter"))
    accounting.add(f"power_flow rows={len(flows)} meter readings={meter_readings} "
                   f"served={len(served)} (the two runs {AHEAD_S} s apart on the host clock)")
    assert len(times) == len(set(times))
    # One power_flow per poll that got a meter reading: one per meter reading written (1 s
    # polls of a meter that ticks each second; a reading seen twice is not written twice, and
    # its poll's power_flow then shares nothing). Twelve replaced rows would show as missing.
    assert len(flows) >= meter_readings - 2, (len(flows), meter_readings)
