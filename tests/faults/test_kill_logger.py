"""(c) The logger SIGKILLed at 20 random moments (seeded) and restarted each time.

What may be lost is exactly what the design allows: a reading the logger had fetched but not yet
committed (commits are batched about once a second). The test makes that precise. Right after
each kill, while no logger runs and so nothing is served, it reads what was *accepted*: the rows
committed to the outbox (read from the SQLite file) plus what InfluxDB already holds. A served
reading missing from both was lost in that kill's uncommitted window; it must be younger than
`LOST_WINDOW` at the kill. At the end every accepted point (all measurements) must be in
InfluxDB, every other served meter reading too, none twice.

Seed: `JULLIX_FAULT_SEED` (printed), default fixed so CI runs are reproducible.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import time
from datetime import UTC, datetime

from harness import SimulatorProcess, wait_until

from faults.accounting import GROUND_TRUTH, account, identity_time, outbox_identities
from faults.registry import scenario
from faults.runner import logger_config, meter_times, start_logger
from logger.testbed.influxd import InfluxServer, quote_ident

KILLS = 20
# commit interval (1 s) + the reading's own second (a reading stamped t is served up to t+1)
# + 1 s of event-loop and process-start slack.
LOST_WINDOW = 3.0
DEFAULT_SEED = 20250606


def influx_identities(server: InfluxServer, db: str) -> set[str]:
    """Identities (series key + time, as `Point.identity`) of every point InfluxDB holds."""
    result = server.query("SHOW TAG KEYS", db=db)["results"][0]
    tag_keys = {s["name"]: {row[0] for row in s["values"]} for s in result.get("series", [])}
    identities = set()
    for measurement, keys in tag_keys.items():
        if measurement.startswith("_"):
            continue  # the logger's own bookkeeping (applied migrations)
        for row in server.points(db, measurement):
            tags = ",".join(f"{k}={row[k]}" for k in sorted(keys) if row.get(k) is not None)
            identities.add(f"{quote_free(measurement)},{tags} {row['time']}")
    return identities


def quote_free(name: str) -> str:
    assert quote_ident(name) == f'"{name}"', "test data has no characters to escape"
    return name


def integrity(path) -> str:
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    try:
        return db.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        db.close()


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
    try:
        for kill in range(KILLS):
            logger = start_logger(tmp_path, config, f"run{kill:02d}")
            moment = rng.uniform(1.0, 5.0)
            moments.append(round(moment, 2))
            time.sleep(moment)
            logger.signal(signal.SIGKILL)
            logger.wait(10)
            killed_at = time.time()
            logger.close()
            if outbox_path.exists():
                assert integrity(outbox_path) == "ok"
            now_accepted = outbox_identities(outbox_path) | influx_identities(server, "jullix")
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
    assert not never_arrived, sorted(never_arrived)[:10]
    assert all(age <= LOST_WINDOW for age in lost.values()), lost
    result.assert_exact()
