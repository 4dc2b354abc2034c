"""(h) A 70-minute box outage that ends inside the repeated autumn hour.

The simulated meter starts at 02:09:45 summer time on the night the clocks go back (2026-10-25,
00:09:45Z); the logger runs under libfaketime on the same timeline, with its monotonic clock
faked too, so both clocks move together like real time. After a few polls the box goes down
(503), 70 minutes pass at once for both the meter and the logger (the simulator's clock and the
logger's wall and monotonic clocks jump 4200 s), and the box comes back showing 02:19:5x again,
now winter time (01:19:5xZ). The meter prints no DST flag: 02:19 could be either.

Expected: exact accounting of the meter against the simulator's ground truth (every served
reading at its true UTC instant; 70 minutes elapsed, so 01:19Z, never 00:19Z), and every
receive-time point at the true time of its poll (`receive_times`).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from harness import SimulatorProcess, wait_until

from faults.accounting import GROUND_TRUTH, account
from faults.faketime import faketime_env, libfaketime
from faults.receive_times import account_receive_times
from faults.registry import scenario
from faults.runner import logger_config, start_logger, wait_for_meter_points

START = "2026-10-25T02:09:45+02:00"  # 00:09:45Z; the clocks go back at 01:00Z
OUTAGE_S = 70 * 60
WINTER = int(datetime(2026, 10, 25, 1, 0, tzinfo=UTC).timestamp())  # 02:00 winter time


def sim_offset(sim: SimulatorProcess) -> int:
    """Seconds from real time to the simulator's time, measured now."""
    before = time.time()
    clock = datetime.fromisoformat(sim.control("GET", "clock")["utc"]).timestamp()
    return round(clock - (before + time.time()) / 2)


@scenario("outage_in_repeated_hour", "the box is down 70 min and returns inside 02:00-03:00 "
          "of the autumn night (no DST flag)", budget_s=90)
def test_an_outage_ending_in_the_repeated_hour_keeps_every_reading_at_its_instant(
        tmp_path, influxd, influx_db, accounting):
    library = libfaketime()
    offset_file = tmp_path / "faketime-offset"
    sim = SimulatorProcess(tmp_path, "--seed", "16", "--start", START)
    config = logger_config(tmp_path, sim, {"url": influxd.url, "database": influx_db},
                           local={"interval": 2.0})
    try:
        offset = sim_offset(sim)
        offset_file.write_text(f"{offset:+d}\n")
        logger = start_logger(tmp_path, config,
                              env=faketime_env(library, offset_file, monotonic=True))
        try:
            wait_for_meter_points(influxd, influx_db, 3, 30, "summer-time readings")
            sim.set_faults(down_seconds=3600)  # the box goes down
            time.sleep(2.5)  # at least one poll fails
            down_from = len(sim.served())
            offset_file.write_text(f"{offset + OUTAGE_S:+d}\n")  # 70 minutes pass ...
            sim.control("POST", "clock", {"jump_seconds": OUTAGE_S})  # ... for both clocks
            sim.set_faults(down_seconds=0)  # the box is back, showing 02:19 again
            wait_until(lambda: len(sim.served()) >= down_from + 4, 30, what="readings after")
            time.sleep(1)
            assert logger.stop() == 0, logger.output()
        finally:
            logger.close()
        served = GROUND_TRUTH["local"].served(sim)
        texts = {r["time"] for r in sim.served()}
    finally:
        sim.close()

    meter = account("outage_in_repeated_hour", influxd, influx_db, served)
    after = [t for t in served if t >= WINTER]
    meter.notes.update(summer=len(served) - len(after), winter=len(after),
                       winter_times=sorted(x for x in texts if x >= "261025021900")[:2])
    received = account_receive_times("outage_in_repeated_hour", influxd, influx_db, served,
                                     since=min(served))
    accounting.add(meter)
    accounting.add(received)
    assert len(after) >= 4 and len(served) - len(after) >= 3, meter.line()
    assert all(x.startswith("2610250219") or x.startswith("2610250220") for x in texts
               if x >= "261025021000"), texts  # the box really showed 02:19/02:20 again
    meter.assert_exact()
    received.assert_exact()
