"""The command line as a user meets it: help, check, status, export, demo."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from datetime import datetime, timedelta

import pytest
from harness import ROOT, SimulatorProcess, write_config
from ledger_data import simulate

from logger.cli.demo_history import PAD_S
from logger.core.belgian_time import BRUSSELS
from logger.testbed.influxd import free_port
from logger.testbed.simulator.model import InstallationFeatures

SUBCOMMANDS = ["run", "check", "status", "export", "simulate", "demo"]


def cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "logger", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize("command", SUBCOMMANDS)
def test_every_subcommand_explains_itself(command):
    result = cli(command, "--help")
    assert result.returncode == 0
    assert "usage: jullix-logger" in result.stdout
    if command not in ("simulate", "demo"):  # the demo reads no config: its own store only
        assert "-c PATH, --config PATH" in result.stdout
        assert "--no-config" in result.stdout


def test_the_installed_command_is_the_same_program():
    exe = ROOT / ".venv" / "bin" / "jullix-logger"
    if not exe.exists():
        pytest.skip("no .venv/bin/jullix-logger (package not installed in .venv)")
    result = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.startswith("jullix-logger ")


@pytest.mark.integration
def test_check_passes_when_box_and_influxdb_answer(tmp_path, influxd, influx_db):
    sim = SimulatorProcess(tmp_path, "--devices", "solar")
    try:
        config = write_config(tmp_path / "c.toml", {
            "local": {"url": sim.url},
            "influx": {"url": influxd.url, "database": influx_db},
            "outbox": {"path": str(tmp_path / "o.sqlite")},
        })
        result = cli("check", "-c", str(config))
    finally:
        sim.close()
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert any(line.startswith("ok   local") and "battery absent" in line for line in lines)
    assert any(line.startswith("ok   influx") and influx_db in line for line in lines)


def test_check_fails_with_one_line_per_problem_when_nothing_answers(tmp_path):
    dead = f"http://127.0.0.1:{free_port()}"
    config = write_config(tmp_path / "c.toml", {
        "local": {"url": dead, "timeout": 1.0},
        "influx": {"url": dead, "timeout": 1.0},
        "outbox": {"path": str(tmp_path / "o.sqlite")},
    })
    result = cli("check", "-c", str(config))
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[0] == f"config {config}"
    results = [line.split()[:2] for line in lines[1:] if not line.startswith(" ")]
    assert results == [["ok", "outbox"], ["FAIL", "local"], ["FAIL", "influx"]]


def test_without_influxdb_the_outbox_is_the_store_status_and_export_show_it(tmp_path):
    sim = SimulatorProcess(tmp_path)
    try:
        config = write_config(tmp_path / "c.toml", {
            "local": {"url": sim.url, "interval": 1.0},
            "outbox": {"path": str(tmp_path / "o.sqlite")},
        })
        run = cli("run", "-c", str(config), "--seconds", "4")
        served = len(sim.served())
    finally:
        sim.close()
    assert run.returncode == 0, run.stderr
    status = cli("status", "-c", str(config))
    assert status.returncode == 0
    assert "influx        not configured" in status.stdout
    assert "local.meter" in status.stdout
    export = cli("export", "-c", str(config))
    assert export.returncode == 0
    lines = export.stdout.splitlines()
    meter_lines = [line for line in lines if line.startswith("meter,")]
    assert len(meter_lines) == served
    assert f"exported {len(lines)} points" in export.stderr
    depth = next(line for line in status.stdout.splitlines() if "depth" in line)
    assert f" {len(lines)} points waiting" in depth


def test_status_without_an_outbox_says_so(tmp_path):
    config = write_config(tmp_path / "c.toml", {"outbox": {"path": str(tmp_path / "no.sqlite")}})
    result = cli("status", "-c", str(config))
    assert result.returncode == 1
    assert "has not run" in result.stdout


@pytest.mark.integration
def test_demo_logs_all_three_sources_and_repairs_its_own_gap_from_the_cloud(tmp_path, influxd,
                                                                           influx_db):
    # A user's config.toml in the working directory names a real InfluxDB: the demo must not
    # write its simulated house there (it has its own private influxd).
    write_config(tmp_path / "config.toml", {"influx": {"url": influxd.url,
                                                       "database": influx_db}})
    result = subprocess.run([sys.executable, "-m", "logger", "demo", "--seconds", "16"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stdout + result.stderr
    assert influxd.query("SHOW MEASUREMENTS", db=influx_db)["results"][0].get("series") is None
    store = re.search(r"remove it:   rm -r (\S+)", result.stdout).group(1)
    # The commands it prints work as printed (here: from another working directory).
    export = re.search(r"export it:   (.+) > demo.lp", result.stdout).group(1)
    exported = subprocess.run(export, shell=True, cwd=ROOT, capture_output=True, text=True,
                              timeout=60)
    assert exported.returncode == 0 and "exported 0 points" in exported.stderr, exported.stderr
    shutil.rmtree(store)  # the demo keeps its store for the user to look at
    assert re.search(r"P1: [1-9]\d* valid telegrams read", result.stdout), result.stdout
    assert re.search(r"points written: [1-9]", result.stdout), result.stdout
    assert "gaps that remain: 0" in result.stdout
    assert re.search(r"power_flow by source: cloud [1-9]\d*, local", result.stdout)
    assert "a private influxd started for this demo" in result.stdout
    for measurement in ("meter", "solar", "battery", "charger", "plug", "power_flow", "p1",
                        "p1_peak", "p1_mbus"):
        assert f"\n{measurement}" in result.stdout
    # It ends with the ledger's `report` of a replayed day (yesterday), hour by hour, whose
    # total import is the simulator's own: its meter's integer-joule counters at the day's two
    # midnights (demo seed 1, every device type), floored to the register's 1 Wh.
    day = re.search(r"what `jullix-logger report --day (\S+)` prints", result.stdout).group(1)
    assert "1 day(s) computed (0 with estimated values), 1 month(s)" in result.stdout
    table = result.stdout.split(f"what `jullix-logger report --day {day}` prints", 1)[1]
    assert max(len(line) for line in table.splitlines()) <= 96
    assert len(re.findall(r"^\s+\d\d:00\s", table, re.M)) in (23, 24, 25)
    total_import = float(re.search(r"^\s+total\s+(\d+\.\d{3})\s", table, re.M).group(1))
    midnight = datetime.fromisoformat(day).replace(tzinfo=BRUSSELS)
    # The model's course depends on where it starts: where the demo's replay starts.
    truth = simulate(midnight - timedelta(seconds=PAD_S), midnight + timedelta(days=1, seconds=1),
                     step=300, seed=1,
                     features=InstallationFeatures(charger=True, plug=True), installation="demo")
    start, end = (truth.truth[int(t.timestamp())] for t in (
        midnight, datetime.combine(midnight.date() + timedelta(days=1), datetime.min.time(),
                                   BRUSSELS)))
    assert total_import * 1000 == pytest.approx(sum(end.import_wh) - sum(start.import_wh),
                                                abs=0.5)
    assert "Highest quarter-hour demand" in table and "still running" in table


def test_demo_without_influxdb_says_what_the_embedded_store_cannot_show(tmp_path):
    env = {**os.environ, "JULLIX_INFLUXD": str(tmp_path / "no-influxd")}
    result = subprocess.run([sys.executable, "-m", "logger", "demo", "--seconds", "5",
                             "--speed", "10"], cwd=tmp_path, env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    text = " ".join(result.stdout.split())  # the explanations are wrapped
    assert "logging for 5 s into the embedded outbox store (no InfluxDB found)" in text
    assert ("cannot show three things: the cloud repairing a gap (gaps are found by asking "
            "InfluxDB where the local series has holes), the energy ledger and `report`") in text
    assert "a gap for the cloud to repair" not in text  # nothing would repair it
    assert "At --speed 10 the simulated meter's clock runs 10 times faster" in text
    shutil.rmtree(re.search(r"remove it:   rm -r (\S+)", result.stdout).group(1))
