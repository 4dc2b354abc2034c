"""(issue 19) An InfluxDB user without admin rights: raw logging works, the ledger says why not.

InfluxDB 1.6 with `auth-enabled`. Two users a careful owner gives the logger:
- `writer`, WRITE only on the database: it may not even read the migration record, so no
  migration can run; the raw series are written without migrations (the database exists);
- `keeper`, READ and WRITE on the database but no admin: migrations 0001 and 0002 find nothing
  to change, 0003 may not create the ledger's retention policy (that needs admin).
Before issue 19 the first logged nothing at all, and the second logged nothing either once 0003
existed (`/healthz` said 200). Now every meter reading the box served is stored exactly once,
and the ledger is off with its reason in `status`, `/healthz` (200 `degraded: ...`) and the
journal.
"""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
from harness import ROOT, SimulatorProcess, http_get, wait_until, write_config

from faults.accounting import GROUND_TRUTH, account
from faults.registry import scenario
from faults.runner import start_logger
from logger.testbed.influxd import free_port

DB = "jullix"
USERS = {  # user -> (grant, what the journal says about the migrations)
    "writer": ("WRITE", "may write but not manage the database"),
    "keeper": ("ALL", "migration 0003"),
}


@scenario("ledger_without_admin_rights", "InfluxDB users without admin (WRITE only; READ+WRITE)",
          budget_s=150)
@pytest.mark.parametrize("user", sorted(USERS))
def test_raw_points_flow_and_the_ledger_says_why_not(user, tmp_path, auth_influxd, accounting):
    server = auth_influxd
    server.create_database(DB)
    grant, journal = USERS[user]
    server.query(f"CREATE USER {user} WITH PASSWORD '{user}-pw-123'")
    server.query(f'GRANT {grant} ON "{DB}" TO {user}')
    sim = SimulatorProcess(tmp_path, "--seed", "19", "--devices", "solar,battery")
    http_port = free_port()
    config = write_config(tmp_path / "config.toml", {
        "local": {"url": sim.url, "interval": 2.0, "timeout": 2.0},
        "influx": {"url": server.url, "database": DB, "username": user,
                   "password": f"{user}-pw-123", "timeout": 3.0},
        "outbox": {"path": str(tmp_path / "outbox.sqlite")},
        "http": {"listen": f"127.0.0.1:{http_port}"},
    })
    logger = start_logger(tmp_path, config)
    try:
        wait_until(lambda: len(server.points(DB, "meter")) >= 5 if DB in server.databases()
                   else False, 40, what="meter points written as a non-admin")
        healthz = wait_until(lambda: (lambda r: r if "degraded" in r[1] else None)(
            http_get(f"http://127.0.0.1:{http_port}/healthz")), 20, what="/healthz degraded")
        time.sleep(4)
        status = subprocess.run([sys.executable, "-m", "logger", "status", "-c", str(config)],
                                cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert logger.stop() == 0, logger.output()
        served = GROUND_TRUTH["local"].served(sim)
    finally:
        logger.close()
        sim.close()
    result = account(f"ledger_without_admin_rights[{user}]", server, DB, served)
    accounting.add(result)
    result.assert_exact()
    assert healthz[0] == 200 and "degraded: ledger is off" in healthz[1], healthz
    assert "ledger      off: " in status.stdout, status.stdout
    output = logger.output()
    assert journal in output and "the ledger stays off and raw logging goes on" in output, output
    assert f"{user}-pw-123" not in output + status.stdout + healthz[1]
    assert "Traceback" not in output, output[-3000:]
