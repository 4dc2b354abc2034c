"""Ctrl-C (SIGINT) in the middle of `backfill` and `ledger`, at the command line, against a real
influxd and the simulator: exit 130 and one line that says what was done and what remains, and
that line is true: what it says waits in the outbox is there, and the command it names finishes
the work."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import pytest
from fault_proxy import FaultProxy
from harness import ROOT, SimulatorProcess, wait_until, write_config

pytestmark = pytest.mark.integration

TOKEN = "interrupt-token"
DAY = 86400


def start(*args: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JULLIX_LOGGER_")}
    return subprocess.Popen([sys.executable, "-m", "logger", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def run(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JULLIX_LOGGER_")}
    return subprocess.run([sys.executable, "-m", "logger", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def outbox_rows(path: Path) -> int:
    """Committed rows, read the way a second process reads them (the outbox is in WAL)."""
    if not path.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1) as db:
            return int(db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])
    except sqlite3.Error:
        return 0


def interrupt_once_rows_are_committed(proc: subprocess.Popen, outbox: Path) -> tuple[int, str]:
    """SIGINT once the command has committed its first points; (exit code, stderr)."""
    def committed() -> bool:
        assert proc.poll() is None, proc.communicate()
        return outbox_rows(outbox) > 0

    wait_until(committed, 120, interval=0.05, what="the first committed points")
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    return proc.returncode, err


def test_ctrl_c_during_backfill_says_what_was_fetched_and_what_waits(tmp_path, influxd,
                                                                     influx_db):
    sim = SimulatorProcess(tmp_path, "--cloud-token", TOKEN, "--cloud-history-days", "10")
    try:
        now = int(time.time())
        # Local points only in the last hour: the eight days before are one gap to fetch.
        influxd.write(influx_db, "\n".join(
            f"power_flow,installation=test,source=local grid_w=100.0 {t}"
            for t in range(now - 3600, now - 60, 5)))
        config = write_config(tmp_path / "c.toml", {
            "local": {"enabled": False},
            "cloud": {"enabled": True, "url": f"{sim.url}/api/v1", "token": TOKEN},
            "influx": {"url": influxd.url, "database": influx_db},
            "outbox": {"path": str(tmp_path / "o.sqlite")},
        })
        since = time.strftime("%Y-%m-%d", time.localtime(now - 8 * DAY))
        sim.control("POST", "cloud", {"delay": 0.5})  # a slow cloud: days take a while
        proc = start("backfill", "-c", str(config), "--since", since)
        code, err = interrupt_once_rows_are_committed(proc, tmp_path / "o.sqlite")
        waiting = outbox_rows(tmp_path / "o.sqlite")
        sim.control("POST", "cloud", {"delay": 0.0})
        rerun = run("backfill", "-c", str(config), "--since", since)
    finally:
        sim.close()
    assert code == 130, err
    line = err.strip().splitlines()[-1]
    match = re.fullmatch(
        r"jullix-logger backfill: interrupted \(Ctrl-C\): fetched (\d+) of (\d+) days from the "
        r"cloud \((\d+) points?, committed to the outbox as fetched\); (\d+) points? wait in "
        r"the outbox (\S+) \(the running service delivers them\); (\d+) days? not fetched: "
        r"run `backfill` again", line)
    assert match, line
    done, total, fetched, said_waiting, path, left = match.groups()
    assert 0 < int(done) < int(total) and int(left) == int(total) - int(done)
    assert int(said_waiting) == waiting > 0 and path == str(tmp_path / "o.sqlite")
    assert int(fetched) >= waiting  # every fetched point is in the outbox or already delivered
    # What it said remains is what a second run does: it delivers and fills every gap.
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert "gaps that remain: 0" in rerun.stdout
    assert outbox_rows(tmp_path / "o.sqlite") == 0


def test_ctrl_c_during_ledger_says_how_far_it_got_and_the_command_that_continues(
        tmp_path, influxd, influx_db):
    days = 6
    start_s = int(time.mktime(time.strptime("2026-03-02", "%Y-%m-%d")))
    # A meter read every 5 minutes for six days (1 kWh an hour in, on tariff 1).
    influxd.write(influx_db, "\n".join(
        f"meter,installation=test,meter_id=M energy_import_t1_kwh={i * 300 / 3600:.6f},"
        f"energy_import_t2_kwh=0.0,energy_export_t1_kwh=0.0,energy_export_t2_kwh=0.0 "
        f"{start_s - 3600 + i * 300}" for i in range((days + 1) * 288 + 24)))
    with FaultProxy(influxd.url) as proxy:
        config = write_config(tmp_path / "c.toml", {
            "local": {"enabled": False},
            "influx": {"url": proxy.url, "database": influx_db, "timeout": 30.0},
            "ledger": {"source": "meter", "gap": 600.0},
            "outbox": {"path": str(tmp_path / "o.sqlite")},
        })
        proxy.set_mode("slow_before", delay=0.15)  # every query takes a while
        proc = start("ledger", "-c", str(config), "--since", "2026-03-02",
                     "--until", "2026-03-07")
        code, err = interrupt_once_rows_are_committed(proc, tmp_path / "o.sqlite")
        waiting = outbox_rows(tmp_path / "o.sqlite")
        proxy.set_mode("pass")
        line = err.strip().splitlines()[-1]
        match = re.fullmatch(
            r"jullix-logger ledger: interrupted \(Ctrl-C\): computed (\d+) of 6 days, up to "
            r"(\S+) \((\d+) ledger points?\); (\d+) days? remains?: `ledger --since (\S+) "
            r"--until 2026-03-07` continues; (\d+) points? wait in the outbox (\S+) \(the "
            r"service delivers them\)", line)
        assert code == 130, err
        assert match, line
        done, last, _points, left, resume, said_waiting, path = match.groups()
        assert 0 < int(done) < days and int(left) == days - int(done)
        assert resume == str(date.fromisoformat(last) + timedelta(days=1))
        assert int(said_waiting) == waiting and path == str(tmp_path / "o.sqlite")
        # The command it names finishes the work: then every day has its ledger row.
        rest = run("ledger", "-c", str(config), "--since", resume, "--until", "2026-03-07")
    assert rest.returncode == 0, rest.stdout + rest.stderr
    assert outbox_rows(tmp_path / "o.sqlite") == 0
    rows = influxd.query(f"SELECT count(\"import_kwh\") FROM \"{influx_db}\".\"ledger\"."
                         "\"ledger_energy\" WHERE period = '1d'", db=influx_db)
    assert rows["results"][0]["series"][0]["values"][0][1] == days
