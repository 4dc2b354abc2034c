"""A newcomer's first hour, at the level a user meets it: the command, its exit code and the line
it prints. Which config a command reads, `run` refusing to run on silent defaults, read-only
commands creating nothing, `check` on a fresh InfluxDB, the cloud token, the values `check`
read, hints for the usual URL mistakes, and what `status` says about the service."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from harness import ROOT, Process, SimulatorProcess, wait_until, write_config

from logger.testbed.influxd import free_port


def cli(*args: str, cwd: Path = ROOT, env: dict[str, str] | None = None,
        timeout: float = 120) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("JULLIX_LOGGER_")}
    return subprocess.run([sys.executable, "-m", "logger", *args], cwd=cwd,
                          env={**clean, **(env or {})}, capture_output=True, text=True,
                          timeout=timeout)


def offline(tmp_path: Path, **sections) -> Path:
    """A config that talks to nothing (the box switched off), with the outbox in tmp_path."""
    base = {"local": {"enabled": False}, "outbox": {"path": str(tmp_path / "o.sqlite")}}
    for name, values in sections.items():
        base[name] = {**base.get(name, {}), **values}
    return write_config(tmp_path / "c.toml", base)


# -- which configuration -------------------------------------------------------------------


def test_run_without_a_config_file_refuses_unless_told_no_config(tmp_path):
    home = {"HOME": str(tmp_path), "XDG_STATE_HOME": str(tmp_path / "state")}
    refused = cli("run", "--seconds", "1", cwd=tmp_path, env=home)
    assert refused.returncode == 2
    assert refused.stderr.startswith("jullix-logger: config error: no config file (looked for")
    assert "give -c PATH, or --no-config" in refused.stderr
    assert not (tmp_path / "state").exists()  # nothing started, nothing created
    ran = cli("run", "--no-config", "--seconds", "1", cwd=tmp_path,
              env={**home, "JULLIX_LOGGER_LOCAL__ENABLED": "false"})
    assert ran.returncode == 0, ran.stderr
    first = ran.stderr.splitlines()[0]
    assert first.endswith("config none (--no-config): defaults; environment: "
                          "JULLIX_LOGGER_LOCAL__ENABLED"), first


def test_check_and_status_name_the_config_on_their_first_line(tmp_path):
    config = offline(tmp_path)
    for command in ("check", "status"):
        result = cli(command, "-c", str(config))
        assert result.stdout.splitlines()[0] == f"config {config}", result.stdout


def test_the_read_only_commands_create_no_file(tmp_path):
    """check, status, report and export with the default outbox place: nothing appears."""
    home = tmp_path / "home"
    home.mkdir()
    config = write_config(tmp_path / "c.toml", {"local": {"enabled": False}})
    env = {"HOME": str(home)}
    env.pop("XDG_STATE_HOME", None)
    outcomes = {command: cli(command, "-c", str(config), cwd=home, env=env).returncode
                for command in ("check", "status", "report", "export")}
    assert outcomes == {"check": 0, "status": 1, "report": 1, "export": 1}
    assert list(home.rglob("*")) == []


def test_an_environment_variable_the_settings_would_ignore_is_warned_about(tmp_path):
    result = cli("check", "-c", str(offline(tmp_path)),
                 env={"JULLIX_LOGGER_INFLUX_URL": "http://influx:8086",
                      "JULLIX_LOGGER_INFLUXDB__URL": "http://influx:8086"})
    lines = result.stdout.splitlines()
    assert ("WARNING: environment variable JULLIX_LOGGER_INFLUX_URL is ignored: section and "
            "key are separated by two underscores (JULLIX_LOGGER_INFLUX__URL)") in lines
    assert any(line.startswith("WARNING: environment variable JULLIX_LOGGER_INFLUXDB__URL is "
                               "ignored: [influxdb] is not a section") for line in lines)


@pytest.mark.parametrize("value", ['"yes"', "1", '"on"'])
def test_a_switch_takes_only_true_or_false(tmp_path, value):
    config = tmp_path / "c.toml"
    config.write_text(f"[local]\nenabled = {value}\n")
    result = cli("check", "-c", str(config))
    assert result.returncode == 2
    assert f"{config}: [local] enabled: must be true or false" in result.stderr


def test_a_local_url_ending_in_api_ems_is_a_config_error_with_the_fix(tmp_path):
    config = write_config(tmp_path / "c.toml", {"local": {"url": "http://192.168.1.50/api/ems"}})
    result = cli("check", "-c", str(config))
    assert result.returncode == 2
    assert "[local] url: ends in /api/ems: give the box's address only" in (
        result.stderr)


@pytest.mark.parametrize(("url", "hint"), [
    ("http://no-such-box.invalid", "does not resolve here"),
    ("http://127.0.0.1:{port}", "nothing listens on the port"),
])
def test_local_url_mistakes_get_a_hint(tmp_path, url, hint):
    config = write_config(tmp_path / "c.toml", {
        "local": {"url": url.format(port=free_port()), "timeout": 2.0},
        "outbox": {"path": str(tmp_path / "o.sqlite")}})
    result = cli("check", "-c", str(config))
    assert result.returncode == 1
    local = [line for line in result.stdout.splitlines()
             if line.startswith("FAIL local") or "hint:" in line]
    assert local[0].startswith("FAIL local"), result.stdout
    assert "every endpoint FAILED" in local[0]
    assert hint in local[1], result.stdout


# -- check against real servers ------------------------------------------------------------


@pytest.mark.integration
def test_check_notes_a_database_that_run_would_create(tmp_path, influxd):
    """A fresh Debian InfluxDB has only `_internal`: not a failure while `run` creates it."""
    host = influxd.url.removeprefix("http://")
    config = offline(tmp_path, influx={"url": host, "database": "created_by_run"})  # no scheme
    result = cli("check", "-c", str(config))
    assert result.returncode == 0, result.stdout
    assert (f"ok   influx  http://{host} (API v1): InfluxDB 1.6" in result.stdout)
    assert "database 'created_by_run' does not exist yet: `run` creates it" in result.stdout
    manual = offline(tmp_path, influx={"url": influxd.url, "database": "created_by_run",
                                       "auto_migrate": False})
    result = cli("check", "-c", str(manual))
    assert result.returncode == 1
    assert "auto_migrate = false: create it with `jullix-logger migrate`" in result.stdout


@pytest.mark.integration
def test_check_detects_api_v2_against_an_influxdb_that_has_only_v1(tmp_path, influxd):
    config = offline(tmp_path, influx={"url": influxd.url, "api": "v2", "bucket": "jullix",
                                       "token": "t"})
    result = cli("check", "-c", str(config))
    assert result.returncode == 1
    influx = next(line for line in result.stdout.splitlines() if "influx" in line)
    assert influx.startswith("FAIL influx")
    assert 'has no API v2 (InfluxDB 1.8 brought it): set [influx] api = "v1"' in influx


def _served_reading(sim: SimulatorProcess, shown: str) -> dict:
    """The payload the simulator served at the meter time `check` printed."""
    for reading in sim.served():
        if datetime.strptime(reading["time"], "%y%m%d%H%M%S").strftime("%Y-%m-%d %H:%M:%S") \
                == shown:
            return reading["values"]
    raise AssertionError(f"the simulator served no reading at {shown}")


def test_check_shows_the_values_it_read_waits_for_p1_and_tests_the_cloud_token(tmp_path):
    p1_port = free_port()
    sim = SimulatorProcess(tmp_path, "--cloud-token", "good-token", "--p1-port", str(p1_port))
    try:
        sections = {
            "local": {"url": sim.url},
            "p1": {"enabled": True, "host": "127.0.0.1", "port": p1_port},
            "cloud": {"enabled": True, "url": f"{sim.url}/api/v1", "token": "good-token"},
            "outbox": {"path": str(tmp_path / "o.sqlite")},
        }
        good = cli("check", "-c", str(write_config(tmp_path / "good.toml", sections)))
        values = next(line for line in good.stdout.splitlines()
                      if line.strip().startswith("meter ") and "(its clock)" in line)
        served = _served_reading(sim, values.split(" at ", 1)[1].split(" (its clock)")[0])
        sections["cloud"]["token"] = "revoked-token"
        bad = cli("check", "-c", str(write_config(tmp_path / "bad.toml", sections)))
    finally:
        sim.close()
    assert good.returncode == 0, good.stdout
    lines = good.stdout.splitlines()
    # The meter registers as the box served them at the time shown (kWh, its own numbers).
    energy = served["energy"]
    assert (f"import {energy['in_1'] + energy['in_2']:.3f} kWh (day {energy['in_1']:.3f}, "
            f"night {energy['in_2']:.3f})") in values, values
    assert f"export {energy['out_1'] + energy['out_2']:.3f} kWh" in values
    net = (served["power"]["in"] - served["power"]["out"]) * 1000
    assert f"power now {net:+.0f} W" in values
    # P1: said before the wait, then the telegram's values.
    wait = next(i for i, line in enumerate(lines) if line.startswith("...  waiting up to"))
    assert f"for a valid P1 telegram from 127.0.0.1:{p1_port}" in lines[wait]
    assert lines[wait + 1].startswith("ok   p1")
    assert lines[wait + 2].strip().startswith("meter ") and "import" in lines[wait + 2]
    assert any(line.startswith("ok   cloud") and "token accepted" in line for line in lines)
    assert bad.returncode == 1
    assert any(line.startswith("FAIL cloud") and "invalid or revoked (HTTP 401)" in line
               for line in bad.stdout.splitlines()), bad.stdout
    assert "revoked-token" not in bad.stdout + bad.stderr


# -- status --------------------------------------------------------------------------------


@pytest.mark.integration
def test_status_says_whether_the_service_runs_and_what_the_cloud_did(tmp_path, influxd,
                                                                      influx_db):
    sim = SimulatorProcess(tmp_path, "--cloud-token", "good-token")
    config = write_config(tmp_path / "c.toml", {
        "local": {"url": sim.url, "interval": 1.0},
        "cloud": {"enabled": True, "url": f"{sim.url}/api/v1", "token": "good-token",
                  "realtime": True},
        "backfill": {"enabled": False},
        "influx": {"url": influxd.url, "database": influx_db},
        "outbox": {"path": str(tmp_path / "o.sqlite")},
    })
    logger = Process(["run", "-c", str(config)], tmp_path / "logger.log")
    try:
        running = wait_until(lambda: (lambda s: s if "running (pid" in s else None)(
            cli("status", "-c", str(config)).stdout), 60, interval=1.0, what="running")
        service = next(line for line in running.splitlines() if line.startswith("service"))
        assert f"running (pid {logger.proc.pid}) since" in service
        assert "this record is" in service
        sim.control("POST", "cloud", {"revoked": True})  # the token is revoked meanwhile
        degraded = wait_until(lambda: (lambda s: s if "cloud       degraded" in s else None)(
            cli("status", "-c", str(config)).stdout), 120, interval=1.0, what="cloud stop")
        cloud = next(line for line in degraded.splitlines() if line.startswith("  cloud"))
        assert "degraded: stopped since" in cloud and "invalid or revoked (HTTP 401)" in cloud
        assert logger.stop() == 0
    finally:
        logger.close()
        sim.close()
    stopped = cli("status", "-c", str(config))
    service = next(line for line in stopped.stdout.splitlines() if line.startswith("service"))
    assert service.startswith("service       not running: stopped cleanly at")
    # Counters are grouped and named, not dumped: points per source, what InfluxDB took.
    assert "  from local  " in stopped.stdout and "confirmed by InfluxDB" in stopped.stdout
    assert "accepted.local" not in stopped.stdout


def test_status_into_a_closed_pipe_is_quiet_and_check_empty_names_the_config(tmp_path):
    from logger.core.point import Point
    from logger.outbox import Outbox

    config = offline(tmp_path)
    outbox = Outbox(tmp_path / "o.sqlite")
    outbox.put([Point.make("meter", {"installation": "home"}, {"power_w": 1.0}, 1_780_000_000)])
    outbox.commit()
    outbox.close()
    piped = subprocess.run(f"{sys.executable} -m logger status -c {config} | head -1",
                           shell=True, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert piped.stdout == f"config {config}\n"
    assert "Traceback" not in piped.stderr and "BrokenPipe" not in piped.stderr
    empty = cli("status", "--check-empty", "-c", str(config))
    assert empty.returncode == 1
    assert "holds 1 point InfluxDB has not received" in empty.stdout
    assert f" -c {config} export -o unsent.lp`" in empty.stdout


def test_run_interrupted_by_ctrl_c_stops_cleanly_and_exits_130(tmp_path):
    sim = SimulatorProcess(tmp_path)
    config = write_config(tmp_path / "c.toml", {
        "local": {"url": sim.url, "interval": 1.0},
        "outbox": {"path": str(tmp_path / "o.sqlite")}})
    logger = Process(["run", "-c", str(config)], tmp_path / "logger.log")
    try:
        wait_until(lambda: "logging installation" in logger.output(), 60, what="start")
        logger.signal(signal.SIGINT)
        code = logger.wait(60)
    finally:
        logger.close()
        sim.close()
    assert code == 130, logger.output()
    last = logger.output().splitlines()[-1]
    assert last.startswith("jullix-logger run: interrupted (Ctrl-C): the service stopped "
                           "cleanly; ")
    assert "wait in the outbox" in last  # no InfluxDB: the outbox is the store
