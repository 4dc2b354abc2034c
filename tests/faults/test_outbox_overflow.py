"""(e) The outbox reaching `max_mb` while InfluxDB is down: the overflow policy, counted exactly.

`max_mb = 0.05` and a box with every device type fill the bound within about half a minute of
outage. Exact accounting without touching the logger: before it starts, the test adds to the
outbox file a trigger that records the identity of every row ever inserted (a table of its own:
the bound counts the queue alone, so it is not perturbed). Points InfluxDB confirmed from memory
were never inserted. After InfluxDB is back and the outbox drained,

    inserted identities that InfluxDB does not hold == the `overflow_dropped` counter

and the meter readings that are missing are exactly the dropped meter points: for drop_oldest
one contiguous block of the oldest outage readings (the newest survive), for drop_newest none of
the oldest outage readings (they survive, later ones were dropped).
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time

import pytest
from harness import ROOT, SimulatorProcess, wait_until

from faults.accounting import (
    GROUND_TRUTH,
    account,
    influx_identities,
    outbox_counters,
    outbox_identities,
)
from faults.registry import scenario
from faults.runner import logger_config, meter_times, start_logger, wait_for_meter_points
from logger.outbox import Outbox

MAX_MB = 0.05
RECORD_INSERTS = """
CREATE TABLE test_inserted (identity TEXT PRIMARY KEY);
CREATE TRIGGER test_record_inserts AFTER INSERT ON outbox
BEGIN INSERT OR IGNORE INTO test_inserted VALUES (new.identity); END;
"""


def inserted(path) -> set[str]:
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    try:
        return {identity for (identity,) in db.execute("SELECT identity FROM test_inserted")}
    finally:
        db.close()


@pytest.mark.parametrize("policy", ["drop_oldest", "drop_newest"])
@scenario("outbox_overflow", "outbox hits max_mb = 0.05 while InfluxDB is down", budget_s=150)
def test_outbox_overflow_policy_and_counter(tmp_path, private_influxd, accounting, policy):
    server = private_influxd
    outbox_path = tmp_path / "outbox.sqlite"
    Outbox(outbox_path).close()  # the logger's own schema, then the counting trigger
    db = sqlite3.connect(outbox_path)
    db.executescript(RECORD_INSERTS)
    db.close()
    sim = SimulatorProcess(tmp_path, "--seed", "15", "--devices", "solar,battery,charger,plug",
                           "--inverters", "2")
    config = logger_config(tmp_path, sim, {"url": server.url, "database": "jullix"},
                           outbox={"max_mb": MAX_MB, "overflow": policy})
    logger = start_logger(tmp_path, config)
    try:
        wait_for_meter_points(server, "jullix", 3, 30, "first writes")
        server.stop()
        outage_start = time.time()
        wait_until(lambda: outbox_counters(outbox_path).get("overflow_dropped", 0) > 0, 90,
                   what="the outbox to overflow")
        first_drop_after = time.time() - outage_start
        time.sleep(6)  # keep overflowing for several more commits
        assert logger.proc.poll() is None
        server.start()
        assert logger.stop() == 0, logger.output()  # its shutdown flush delivers the backlog
        served = GROUND_TRUTH["local"].served(sim)
    finally:
        logger.close()
        sim.close()
    assert not outbox_identities(outbox_path), "the backlog should be delivered"
    dropped_counter = outbox_counters(outbox_path)["overflow_dropped"]
    dropped_by_count = len(inserted(outbox_path) - influx_identities(server, "jullix"))
    status = subprocess.run([sys.executable, "-m", "logger", "status", "-c", str(config)],
                            cwd=ROOT, capture_output=True, text=True, timeout=30).stdout
    stored = set(meter_times(server, "jullix"))
    missing = sorted(set(served) - stored)
    order = sorted(served)
    result = account(f"outbox_overflow[{policy}]", server, "jullix", served,
                     allowed_missing=missing)
    result.notes.update(overflow_dropped=dropped_counter, inserted_minus_stored=dropped_by_count,
                        first_drop_after_s=round(first_drop_after, 1))
    accounting.add(result)
    accounting.add("status: " + " | ".join(
        line.strip() for line in status.splitlines() if "overflow" in line or "depth" in line))
    result.assert_exact()  # nothing duplicated or unexpected; the missing are checked below
    assert missing, "the bound should have dropped meter points"
    assert dropped_counter == dropped_by_count
    assert f"lost        overflow dropped {dropped_counter}" in status, status
    # Readings surely queued during the outage (served after it began), older than the first drop:
    older_queued = [t for t in order if outage_start + 1 <= t < missing[0]]
    assert all(t in stored for t in order if t < missing[0])
    if policy == "drop_oldest":
        # One contiguous block of the oldest queued readings; everything newer survived.
        block = order[order.index(missing[0]):order.index(missing[-1]) + 1]
        assert block == missing, "drop_oldest must drop a contiguous block of the oldest"
        assert all(t in stored for t in order if t > missing[-1])
        assert not older_queued, "drop_oldest kept queued readings older than a dropped one"
    else:
        # The oldest survive: the readings queued first are all there, later ones were dropped.
        assert len(older_queued) >= 5, "drop_newest should keep the oldest queued readings"
