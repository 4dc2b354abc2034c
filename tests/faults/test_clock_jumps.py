"""(f) The system clock jumping back and forth while the meter's own clock stays right.

The logger process runs under libfaketime with its wall clock (CLOCK_REALTIME: `time.time()`,
`datetime.now()`) moved at runtime through a timestamp file, and its monotonic clock left alone,
as an NTP step or a Raspberry Pi without RTC does it. The simulator and InfluxDB keep real time.

Expected: the logger keeps polling through every jump (the box served readings in every
phase), meter points keep the meter's own times (exact accounting), and the receive-time
measurements (`power_flow`) do not move with the fake clock: while the host clock is more than
30 s off the meter clock they are stamped from the meter clock (logger.core.clock_trust).

Needs libfaketime (Debian: `apt-get install faketime`); skipped without it unless
`JULLIX_REQUIRE_FAKETIME=1` (CI), which turns the skip into a failure.
"""

from __future__ import annotations

import time

from harness import SimulatorProcess

from faults.accounting import GROUND_TRUTH, account
from faults.faketime import check_faketime_works, faketime_env, libfaketime
from faults.registry import scenario
from faults.runner import logger_config, start_logger, wait_for_meter_points

PHASES = [  # (offset of the logger's wall clock from real time, seconds)
    ("-3600", 8),  # one hour back
    ("+5400", 8),  # an hour and a half forward
    ("-90", 6),  # a small step back
    ("+0", 6),  # right again
]


@scenario("system_clock_jumps", "the logger's wall clock jumps -1 h, +1.5 h, -90 s, back")
def test_system_clock_jumps(tmp_path, influxd, influx_db, accounting):
    library = libfaketime()
    offset_file = tmp_path / "faketime-offset"
    env = faketime_env(library, offset_file)
    check_faketime_works(env, offset_file)
    sim = SimulatorProcess(tmp_path, "--seed", "16")
    config = logger_config(tmp_path, sim, {"url": influxd.url, "database": influx_db})
    logger = start_logger(tmp_path, config, env=env)
    served_per_phase = {}
    try:
        wait_for_meter_points(influxd, influx_db, 3, 30, "first writes")
        for offset, seconds in PHASES:
            before = len(sim.served())
            offset_file.write_text(f"{offset}\n")
            time.sleep(seconds)
            served_per_phase[offset] = len(sim.served()) - before
        assert logger.proc.poll() is None
        assert logger.stop() == 0, logger.output()
        served = GROUND_TRUTH["local"].served(sim)
    finally:
        logger.close()
        sim.close()
    result = account("system_clock_jumps", influxd, influx_db, served)
    flows = [row["time"] for row in influxd.points(influx_db, "power_flow")]
    real_start = min(served)
    moved_back = sum(1 for t in flows if t < real_start - 60)
    moved_forward = sum(1 for t in flows if t > max(served) + 60)
    result.notes.update(served_per_phase=served_per_phase,
                        power_flow_moved_back=moved_back, power_flow_moved_forward=moved_forward)
    accounting.add(result)
    result.assert_exact()
    for (offset, seconds), count in zip(PHASES, served_per_phase.values(), strict=True):
        # Polling every second: a logger that kept its schedule fetched in every phase.
        assert count >= seconds // 2, f"polling stalled after the clock jumped {offset} s: " \
                                      f"{served_per_phase}\n{logger.output()[-2000:]}"
    assert moved_back == 0 and moved_forward == 0, \
        f"receive times followed the fake host clock: {result.line()}"
    near = sum(1 for t in flows if any(abs(t - s) <= 2 for s in served))
    assert near == len(flows), f"power_flow points away from any served reading: {result.line()}"
