"""The promise that pins the local poll's commit: a finished poll's points survive `kill -9`.

`logger_kill_9_x20` allows the loss of points received less than `commit_interval` before the kill,
so it stays green when a finished poll's points are left in memory. Here that allowance is taken
away: the periodic outbox commit is pushed out of reach (`commit_interval = 60`: points wait 24 s
before it takes them) and InfluxDB is configured but unreachable (nothing is ever confirmed;
without any InfluxDB the outbox would be the store and commit every second), so the only thing that
can make a reading durable before the kill is the service settling the poll (`Service.settle`:
confirmed, else committed). The logger is SIGKILLed at seeded random moments; right after each kill
the outbox file is read. Every meter reading the simulator served more than `IN_FLIGHT_S` before
the kill belongs to a finished poll and must be in it.

`IN_FLIGHT_S`: a reading is stamped with its second t and served during [t, t+1); the poll that
fetched it finishes (all five endpoints answered, points put, the flush refused, commit) within
well under a second on a healthy box; 1 s more is slack for a loaded CI machine.
"""

from __future__ import annotations

import os
import random
import signal
import time

from harness import SimulatorProcess, wait_until

from faults.accounting import GROUND_TRUTH, Accounting, identity_time, integrity, outbox_identities
from faults.registry import scenario
from faults.runner import logger_config, start_logger
from logger.testbed.influxd import free_port

KILLS = 5
IN_FLIGHT_S = 2.0  # the reading's own second + 1 s for the poll to finish
DEFAULT_SEED = 20250613


@scenario("finished_poll_durable_kill_9", "SIGKILL with the periodic commit out of reach")
def test_every_reading_of_a_finished_poll_survives_kill_9(tmp_path, accounting):
    seed = int(os.environ.get("JULLIX_FAULT_SEED", DEFAULT_SEED))
    rng = random.Random(seed)
    sim = SimulatorProcess(tmp_path, "--seed", "23")
    unreachable = {"url": f"http://127.0.0.1:{free_port()}", "database": "jullix"}
    config = logger_config(tmp_path, sim, unreachable, outbox={"commit_interval": 60.0})
    outbox = tmp_path / "outbox.sqlite"
    seen: set[int] = set()  # readings already judged, or in flight at the kill after them
    checked: set[int] = set()
    lost: list[int] = []
    try:
        for kill in range(KILLS):
            before = len(sim.served())
            logger = start_logger(tmp_path, config, f"run{kill}")
            try:
                # A few polls after the first one (two at least), at a seeded moment.
                wait_until(lambda n=before: len(sim.served()) > n, 30, 0.05, "a first poll")
                time.sleep(rng.uniform(2.5, 4.5))
                killed_at = time.time()  # the kill is sent now; reaping it may take a while
                logger.signal(signal.SIGKILL)
                logger.wait(10)
            finally:
                logger.close()
            assert integrity(outbox) == "ok"
            stored = {identity_time(i) for i in outbox_identities(outbox)
                      if i.startswith("meter,")}
            for second in GROUND_TRUTH["local"].served(sim):
                if second in seen:
                    continue
                # Each reading is judged at the first kill after it was served: one still in
                # flight then (its poll perhaps unfinished) may be lost by that kill, and no
                # later kill can tell anything about it.
                seen.add(second)
                if second + IN_FLIGHT_S > killed_at:
                    continue
                checked.add(second)
                if second not in stored:
                    lost.append(second)
    finally:
        sim.close()
    result = Accounting(
        scenario="finished_poll_durable_kill_9", measurement="meter (outbox)",
        expected=len(checked), present=len(checked) - len(lost), missing=sorted(lost),
        duplicated=0, unexpected=[], series=1, value_mismatches=0,
        notes={"seed": seed, "kills": KILLS},
    )
    accounting.add(result)
    assert len(checked) >= KILLS, f"too few finished polls to judge: {result.line()}"
    result.assert_exact()
