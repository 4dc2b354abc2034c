"""(g) A Raspberry Pi without RTC: the logger restarts with its clock 40 minutes behind.

After a power cut a Pi boots with the time it last saved; the box answers before NTP does. The
scenario: the logger runs with the right clock and stops; the 45 minutes before that hold data
(written here as sentinel rows with the logger's own series keys, as if it had been running all
along); the logger starts again under libfaketime 40 minutes behind (monotonic clock untouched),
polls, and then NTP answers (the wall clock steps 40 minutes forward) and it polls on. The
simulator keeps true time, like the meter.

Expected: no timestamp written before the restart is touched (every row identical, nothing
added at or before a series' newest time); the meter is exact against the simulator's ground
truth; every receive-time point after the restart lies at the true time of its poll
(`receive_times`: expected = present, missing 0, duplicated 0, unexpected 0). Without the
clock rule the first 40 minutes' worth of polls would be written onto the sentinel rows.
"""

from __future__ import annotations

import time
from typing import Any

from harness import SimulatorProcess

from faults.accounting import GROUND_TRUTH, account
from faults.faketime import check_faketime_works, faketime_env, libfaketime
from faults.receive_times import account_receive_times
from faults.registry import scenario
from faults.runner import logger_config, start_logger, wait_for_meter_points
from logger.core.line_protocol import format_fields, series_key
from logger.testbed.influxd import InfluxServer

BEHIND_S = 40 * 60
HISTORY_S = 45 * 60
MEASUREMENTS = ("meter", "solar", "battery", "power_flow")
TAG_KEYS = {"meter": ("installation", "meter_id"), "solar": ("device_id", "installation",
            "localid"), "battery": ("device_id", "installation", "localid"),
            "power_flow": ("installation", "source")}
SENTINEL = {"solar": {"power_w": 123456.0}, "battery": {"power_w": -123456.0},
            "power_flow": {"grid_w": 123456.0, "solar_w": 0.0}}


def rows(server: InfluxServer, db: str) -> dict[tuple, dict[str, Any]]:
    found = {}
    for measurement in MEASUREMENTS:
        for row in server.points(db, measurement):
            tags = tuple(row.get(k) for k in TAG_KEYS[measurement])
            found[(measurement, tags, row["time"])] = row
    return found


def write_history(server: InfluxServer, db: str, written: dict[tuple, dict[str, Any]],
                  start: int, end: int) -> int:
    """Sentinel rows every 2 s in [start, end) on the series the logger itself wrote."""
    series = {(m, tags) for (m, tags, _t) in written if m in SENTINEL}
    lines = []
    for measurement, tags in sorted(series):
        key = series_key(measurement, tuple(sorted(zip(TAG_KEYS[measurement], tags,
                                                       strict=True))))
        lines += [f"{key} {format_fields(SENTINEL[measurement])} {t}"
                  for t in range(start, end, 2)]
    server.write(db, "\n".join(lines))
    return len(lines)


def last_time_per_series(found: dict[tuple, dict[str, Any]]) -> dict[tuple, int]:
    """Each series' newest time: a point written at or before it lands among that series'
    data (the sentinels and what the logger wrote). Per series, because the meter clock runs
    up to a second ahead of the receive times: a poll right after the restart may rightly get
    a receive second before the newest meter time, where its series holds nothing."""
    last: dict[tuple, int] = {}
    for measurement, tags, t in found:
        last[(measurement, tags)] = max(t, last.get((measurement, tags), t))
    return last


@scenario("clock_behind_no_rtc", "the logger restarts 40 min behind (no RTC), then NTP answers",
          budget_s=90)
def test_a_clock_40_minutes_behind_touches_nothing_already_written(
        tmp_path, influxd, influx_db, accounting):
    library = libfaketime()
    offset_file = tmp_path / "faketime-offset"
    env = faketime_env(library, offset_file)
    check_faketime_works(env, offset_file)
    sim = SimulatorProcess(tmp_path, "--seed", "21")
    config = logger_config(tmp_path, sim, {"url": influxd.url, "database": influx_db},
                           local={"interval": 2.0})
    try:
        logger = start_logger(tmp_path, config, "before", env=env)
        try:
            wait_for_meter_points(influxd, influx_db, 3, 30, "writes with the right clock")
            assert logger.stop() == 0, logger.output()
        finally:
            logger.close()
        first = min(t for (m, _tags, t) in rows(influxd, influx_db) if m == "meter")
        sentinels = write_history(influxd, influx_db, rows(influxd, influx_db),
                                  first - HISTORY_S, first - 4)
        before = rows(influxd, influx_db)
        last_before = last_time_per_series(before)
        restart = len(sim.served())

        offset_file.write_text(f"-{BEHIND_S}\n")  # the power cut: back 40 minutes
        logger = start_logger(tmp_path, config, "after", env=env)
        try:
            wait_for_meter_points(influxd, influx_db, restart + 5, 30, "polls 40 min behind")
            behind = len(sim.served()) - restart
            offset_file.write_text("+0\n")  # NTP answers: the clock steps forward
            time.sleep(6)
            assert logger.proc.poll() is None, logger.output()
            assert logger.stop() == 0, logger.output()
            output = logger.output()
        finally:
            logger.close()
        served = GROUND_TRUTH["local"].served(sim)
    finally:
        sim.close()

    after = rows(influxd, influx_db)
    touched = sorted(k for k, row in before.items() if after.get(k) != row)
    added = sorted(k for k in set(after) - set(before) if k[2] <= last_before[k[:2]])
    meter = account("clock_behind_no_rtc", influxd, influx_db, served)
    restarted_at = sorted(served)[restart]
    received = account_receive_times("clock_behind_no_rtc", influxd, influx_db, served,
                                     since=restarted_at)
    received.notes.update(polls_behind=behind, sentinel_rows=sentinels,
                          touched=len(touched), added_before_restart=len(added))
    accounting.add(meter)
    accounting.add(received)
    assert not touched, f"rows written before the restart were changed: {touched[:5]}"
    assert not added, f"rows added at already-written times: {added[:5]}"
    meter.assert_exact()
    received.assert_exact()
    assert behind >= 3, received.line()
    assert "off the meter clock" in output and "agrees with the meter clock again" in output
