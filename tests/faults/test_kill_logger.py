"""(c) The logger SIGKILLed at 20 random moments (seeded) and restarted each time; during four
of those runs InfluxDB is stopped, so nothing is confirmed and only commits keep points.

What may be lost is exactly what the durability promise allows (README, docs/durability.md): a
point received less than `commit_interval` seconds before the kill that InfluxDB had not
confirmed. Points wait in memory first; InfluxDB (healthy here) usually confirms them within a
second, and those never touch the disk. The test makes the promise precise. Right after
each kill, while no logger runs and so nothing is served, it reads what was *accepted*: the rows
committed to the outbox (read from the SQLite file) plus what InfluxDB already holds. A served
reading missing from both was lost in that kill's unconfirmed, uncommitted window; its age at the
kill, counted from its meter time (which is never later than when the logger received it, so
the age since receipt is no larger), must be under `commit_interval`. The largest such age is
printed. At the end every accepted point (all measurements) must be in
InfluxDB, every other served meter reading too, none twice.

Seed: `JULLIX_FAULT_SEED` (printed), default fixed so CI runs are reproducible.
"""

from __future__ import annotations

import os
import random
import signal
import time
from datetime import UTC, datetime

from harness import SimulatorProcess, wait_until

from faults.accounting import (
    GROUND_TRUTH,
    account,
    identity_time,
    influx_identities,
    integrity,
    outbox_identities,
)
from faults.registry import scenario
from faults.runner import logger_config, meter_times, start_logger
from logger.config.settings import OutboxSettings

KILLS = 20
DOWN_KILLS = range(8, 12)  # these four runs find InfluxDB stopped
# The promise: nothing older than `[outbox] commit_interval` (the default) is ever lost.
PROMISE_S = OutboxSettings.model_fields["commit_interval"].default
DEFAULT_SEED = 20250606


@scenario("logger_kill_9_x20", "the logger SIGKILLed at 20 random moments and restarted")
def test_logger_killed_at_random_moments(tmp_path, private_influxd, accounting):
    seed = int(os.environ.get("JULLIX_FAULT_SEED", DEFAULT_SEED))
    rng = random.Random(seed)
    accounting.add(f"seed={seed} (set JULLIX_FAULT_SEED to replay)")
    server = private_influxd
    sim = SimulatorProcess(tmp_path, "--seed", "13")
    config = logger_config(tmp_path, sim, {"url": server.url, "database": "jullix"})
    outbox_path = tmp_path / "outbox.sqlite"
    accepted: set[str] = set()  # every identity seen committed or stored at a kill
    lost: dict[int, float] = {}  # meter second -> its age at the kill that lost it
    classified: set[int] = set()
    moments = []
    stored_known: set[str] = set()  # what InfluxDB held when last asked
    try:
        for kill in range(KILLS):
            influx_down = kill in DOWN_KILLS
            if influx_down and server.is_running:
                server.stop()
            elif not influx_down and not server.is_running:
                server.start()
            logger = start_logger(tmp_path, config, f"run{kill:02d}")
            # With InfluxDB down nothing is confirmed: only the commit policy keeps points, so
            # those runs last longer than the promise, or a late commit could not show.
            moment = rng.uniform(6.0, 9.0) if influx_down else rng.uniform(1.0, 5.0)
            moments.append(round(moment, 2))
            time.sleep(moment)
            logger.signal(signal.SIGKILL)
            logger.wait(10)
            killed_at = time.time()
            logger.close()
            if outbox_path.exists():
                assert integrity(outbox_path) == "ok"
            if server.is_running:
                stored_known = influx_identities(server, "jullix")
            now_accepted = outbox_identities(outbox_path) | stored_known
            accepted |= now_accepted
            accepted_meter = {identity_time(i) for i in now_accepted if i.startswith("meter,")}
            for second in GROUND_TRUTH["local"].served(sim):
                if second in classified:
                    continue
                classified.add(second)
                if second not in accepted_meter:
                    lost[second] = killed_at - second
        final = start_logger(tmp_path, config, "final")
        try:
            wait_until(lambda: len(meter_times(server, "jullix")) >= len(sim.served()) - len(lost)
                       and not outbox_identities(outbox_path), 60, what="everything delivered")
            time.sleep(2)
            assert final.stop() == 0, final.output()
        finally:
            final.close()
        served = GROUND_TRUTH["local"].served(sim)
        stored = influx_identities(server, "jullix")
    finally:
        sim.close()

    result = account("logger_kill_9_x20", server, "jullix", served, allowed_missing=lost)
    never_arrived = accepted - stored
    result.notes.update(
        seed=seed, kills=KILLS, accepted_points=len(accepted),
        accepted_not_in_influx=len(never_arrived),
        lost_max_age_s=round(max(lost.values(), default=0.0), 2),
    )
    accounting.add(result)
    accounting.add(f"kill moments after start (s): {moments}")
    if lost:
        accounting.add("lost in the uncommitted window (meter time UTC: age at kill): " + ", ".join(
            f"{datetime.fromtimestamp(t, UTC):%H:%M:%S}: {age:.2f} s"
            for t, age in sorted(lost.items())))
    largest = max(lost.values(), default=0.0)
    print(f"\nlargest age of a lost point at its kill: {largest:.2f} s "
          f"({len(lost)} lost in {KILLS} kills; promise: under {PROMISE_S:g} s)")
    accounting.add(f"largest age of a lost point: {largest:.2f} s (promise < {PROMISE_S:g} s)")
    assert not never_arrived, sorted(never_arrived)[:10]
    assert largest < PROMISE_S, lost
    result.assert_exact()
