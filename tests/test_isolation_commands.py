"""(issue 19) At the command line: one process per outbox, commands next to the service,
configs that would make two rules fight, and secrets on every failure path.

Each test runs the real CLI (`python -m logger ...`) against real servers or none.
"""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest
from harness import ROOT, SimulatorProcess, wait_until, write_config

from logger.core.point import Point
from logger.outbox import Outbox
from logger.testbed.influxd import free_port

PASSWORD = "pw-9c41e7d2b6"  # fixed: xdist workers must collect the same test ids
INFLUX_TOKEN = "itok-5b8e01f3aa"
CLOUD_TOKEN = "ctok-77d0c2e9f1"


def cli(*args: str, env: dict[str, str] | None = None,
        timeout: float = 120) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("JULLIX_LOGGER_")}
    return subprocess.run([sys.executable, "-m", "logger", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout,
                          env={**clean, **(env or {})})


CONFIG_LINE = re.compile(r"^(\S+ +INFO +)?config ")  # printed, or the journal's first line


def one_line(result: subprocess.CompletedProcess) -> str:
    """The one line a command said, besides the line naming the config it read."""
    text = (result.stdout + result.stderr).strip()
    said = [line for line in text.splitlines() if not CONFIG_LINE.match(line)]
    assert "Traceback" not in text and len(said) == 1, text
    return said[0]


# -- one outbox, one writer --------------------------------------------------------------------


@pytest.mark.integration
def test_a_second_run_on_the_same_outbox_refuses_and_commands_hand_their_points_over(
        tmp_path, influxd, influx_db):
    sim = SimulatorProcess(tmp_path, "--seed", "3")
    config = write_config(tmp_path / "config.toml", {
        "local": {"url": sim.url, "interval": 1.0, "timeout": 2.0},
        "influx": {"url": influxd.url, "database": influx_db},
        "outbox": {"path": str(tmp_path / "outbox.sqlite")},
    })
    first = subprocess.Popen([sys.executable, "-m", "logger", "run", "-c", str(config)],
                             cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True)
    try:
        wait_until(lambda: influx_db in influxd.databases()
                   and len(influxd.points(influx_db, "meter")) >= 3, 40, what="first writes")
        second = cli("run", "-c", str(config), "--seconds", "5")
        day = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
        ledger = cli("ledger", "-c", str(config), "--since", day, "--until", day)
        undo = cli("backfill", "-c", str(config), "--undo", "--since", day, "--until", day)
        meters = len(influxd.points(influx_db, "meter"))
        wait_until(lambda: len(influxd.points(influx_db, "meter")) > meters + 2, 20,
                   what="the first service still logging")
    finally:
        first.terminate()
        output = first.communicate(timeout=30)[0]
        sim.close()
    assert second.returncode == 1
    assert one_line(second).startswith(f"jullix-logger run: pid {first.pid} is already using "
                                       f"the outbox {tmp_path / 'outbox.sqlite'}")
    assert ledger.returncode == 0, ledger.stdout + ledger.stderr
    assert f"to the running service (pid {first.pid})" in ledger.stdout, ledger.stdout
    assert undo.returncode == 1 and "is running on the outbox" in one_line(undo)
    assert first.returncode == 0, output
    assert output.count("logging installation") == 1  # one service, never a second one


@pytest.mark.integration
def test_points_the_ledger_command_hands_over_are_delivered_by_the_service(
        tmp_path, influxd, influx_db):
    """The hand-off itself: the service delivers what the command committed, nothing of its
    own in flight is disturbed, and nothing is left in the outbox."""
    from logger.outbox.handoff import OutboxHandoff

    sim = SimulatorProcess(tmp_path, "--seed", "4")
    path = tmp_path / "outbox.sqlite"
    config = write_config(tmp_path / "config.toml", {
        "local": {"url": sim.url, "interval": 1.0, "timeout": 2.0},
        "influx": {"url": influxd.url, "database": influx_db},
        "outbox": {"path": str(path)},
    })
    service = subprocess.Popen([sys.executable, "-m", "logger", "run", "-c", str(config)],
                               cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True)
    handed = [Point.make("handed", {"installation": "test"}, {"v": float(i)},
                         1_790_000_000 + i) for i in range(12_000)]
    try:
        wait_until(lambda: influx_db in influxd.databases()
                   and len(influxd.points(influx_db, "meter")) >= 2, 40, what="first writes")
        handoff = OutboxHandoff(path)
        handoff.put(handed[:6000])
        handoff.put(handed[3000:])  # half of them again: replaced, never twice
        handoff.close()
        wait_until(lambda: len(influxd.points(influx_db, "handed")) == 12_000, 40,
                   what="the handed points in InfluxDB")
    finally:
        service.terminate()
        output = service.communicate(timeout=30)[0]
        sim.close()
    assert service.returncode == 0, output
    rows = influxd.points(influx_db, "handed")
    assert sorted(r["v"] for r in rows) == [float(i) for i in range(12_000)]
    outbox = Outbox(path, read_only=True)
    try:
        assert outbox.depth() == 0 and outbox.stats().counters["handed_over"] == 15_000
    finally:
        outbox.close()


# -- configs in which two rules would fight -----------------------------------------------------


@pytest.mark.parametrize(("sections", "says"), [
    ({"ledger": {"retention_policy": "autogen"}},
     "[ledger] retention_policy 'autogen' is where the raw series go"),
    ({"influx": {"retention_policy": "raw"}, "ledger": {"retention_policy": "raw"}},
     "[ledger] retention_policy 'raw' is where the raw series go"),
    ({"influx": {"api": "v2", "bucket": "jullix/ledger"}},
     "[ledger] retention_policy 'ledger' is where the raw series go ([influx] bucket"),
    ({"p1": {"enabled": True, "every": 300}, "ledger": {"gap": 60}},
     "[ledger] gap = 60 s is shorter than 2 readings at the slowest meter cadence (300 s"),
    ({"local": {"interval": 120}, "ledger": {"gap": 200}},
     "[ledger] gap = 200 s is shorter than 2 readings"),
])
def test_settings_that_would_make_two_rules_fight_are_one_line_and_exit_2(
        tmp_path, sections, says):
    config = write_config(tmp_path / "config.toml", sections)
    result = cli("check", "-c", str(config))
    assert result.returncode == 2
    line = one_line(result)
    assert line.startswith(f"jullix-logger: config error: {config}: {says}"), line


def test_a_ledger_gap_left_out_follows_the_slowest_meter_cadence():
    from logger.config import Settings

    assert Settings().ledger.gap == 60.0  # 1 s P1, 5 s local: the usual 60 s
    assert Settings(p1={"enabled": True, "every": 300}).ledger.gap == 900.0
    assert Settings(p1={"enabled": True, "every": 300}, ledger={"source": "meter"}
                    ).ledger.gap == 60.0  # the ledger does not read P1 then
    assert Settings(local={"interval": 120}, ledger={"gap": 240}).ledger.gap == 240.0


def test_an_installation_name_no_utf8_can_carry_is_a_config_error(tmp_path):
    """A non-UTF-8 byte in the environment becomes a lone surrogate in Python (pydantic
    refuses it as a string; `tag_problem` would too, see test_isolation_outbox.py)."""
    config = write_config(tmp_path / "config.toml", {"local": {"enabled": False}})
    env = {k.encode(): v.encode() for k, v in os.environ.items()
           if not k.startswith("JULLIX_LOGGER_")}
    env[b"JULLIX_LOGGER_INSTALLATION"] = b"home\xff"
    result = subprocess.run([sys.executable, "-m", "logger", "check", "-c", str(config)],
                            cwd=ROOT, capture_output=True, env=env, timeout=60)
    text = (result.stdout + result.stderr).decode()
    assert result.returncode == 2, text
    said = [line for line in text.splitlines() if not line.startswith("config ")]
    assert len(said) == 1 and "Traceback" not in text, text
    assert said[0].startswith("jullix-logger: config error: environment variable "
                              "JULLIX_LOGGER_INSTALLATION: installation: ")


# -- commands that only read must not change what the config keeps -----------------------------


@pytest.mark.integration
def test_the_ledger_command_keeps_the_dead_letters_the_config_keeps(tmp_path, influxd,
                                                                     influx_db):
    path = tmp_path / "outbox.sqlite"
    outbox = Outbox(path, dead_letter_days=365)
    outbox.put([Point.make("m", {"installation": "test"}, {"v": 1.0}, 1_790_000_000)])
    outbox.commit()
    outbox.dead_letter(outbox.peek(1), "field type conflict", 400)
    outbox.close()
    forty_days_ago = time.time() - 40 * 86400
    db = sqlite3.connect(path)
    db.execute("UPDATE dead_letter SET failed_at = ?", (forty_days_ago,))
    db.commit()
    db.close()
    config = write_config(tmp_path / "config.toml", {
        "local": {"enabled": False},
        "influx": {"url": influxd.url, "database": influx_db},
        "outbox": {"path": str(path), "dead_letter_days": 365},
    })
    result = cli("ledger", "-c", str(config), "--since", "2026-11-01", "--until", "2026-11-01")
    assert result.returncode == 0, result.stdout + result.stderr
    outbox = Outbox(path, read_only=True)
    try:
        assert outbox.dead_letters.count() == 1  # 40 days old, and the config keeps 365
    finally:
        outbox.close()


def test_export_into_a_missing_directory_is_one_line_and_exit_1(tmp_path):
    path = tmp_path / "outbox.sqlite"
    Outbox(path).close()
    config = write_config(tmp_path / "config.toml", {"local": {"enabled": False},
                                                     "outbox": {"path": str(path)}})
    target = tmp_path / "no" / "such" / "dir" / "points.lp"
    result = cli("export", "-c", str(config), "-o", str(target))
    assert result.returncode == 1
    assert one_line(result) == (f"jullix-logger export: cannot write {target}: "
                                "No such file or directory")


# -- secrets on every failure path ----------------------------------------------------------------


@pytest.mark.integration
def test_backfill_undo_does_not_show_the_password_when_the_delete_request_fails(
        tmp_path, influxd, influx_db):
    """API v2: the points are counted over `/query`, then `/api/v2/delete` drops the
    connection (before issue 19 its error named the URL with the password in it)."""
    from fault_proxy import FaultProxy

    proxy = FaultProxy(influxd.url).start()
    proxy.set_mode("close", only_path="/api/v2/delete")
    try:
        host = proxy.url.removeprefix("http://")
        config = write_config(tmp_path / "config.toml", {
            "local": {"enabled": False},
            "influx": {"url": f"http://jullix:{PASSWORD}@{host}", "api": "v2",
                       "bucket": influx_db, "database": influx_db, "token": INFLUX_TOKEN},
            "outbox": {"path": str(tmp_path / "outbox.sqlite")},
        })
        influxd.write(influx_db, "power_flow,installation=test,source=cloud grid_w=1 "
                      f"{int(datetime(2026, 11, 20, 12, tzinfo=UTC).timestamp())}")
        result = cli("backfill", "-c", str(config), "--undo", "--since", "2026-11-20",
                     "--until", "2026-11-20")
    finally:
        proxy.stop()
    text = result.stdout + result.stderr
    assert result.returncode == 1 and "cannot reach http://<redacted>@" in text, text
    assert PASSWORD not in text and INFLUX_TOKEN not in text


@pytest.mark.integration
def test_no_command_shows_a_secret_when_it_fails(tmp_path, influxd, influx_db):
    """Every command, against an InfluxDB URL whose port nothing listens on (API v1 and v2, whose
    `backfill --undo` takes `/api/v2/delete`), and against a real server, with a password in
    the URL, an InfluxDB token and a cloud token: none of the three appears in anything any
    command prints (before issue 19 the v2 undo printed the password when the delete failed)."""
    dead = f"http://jullix:{PASSWORD}@127.0.0.1:{free_port()}"
    live = influxd.url.replace("http://", f"http://jullix:{PASSWORD}@")
    outputs = []
    for url, api in ((dead, "v1"), (dead, "v2"), (live, "v1")):
        config = write_config(tmp_path / "config.toml", {
            "local": {"enabled": False},
            "influx": {"url": url, "api": api, "database": influx_db, "token": INFLUX_TOKEN,
                       "bucket": influx_db, "timeout": 2.0},
            "cloud": {"enabled": True, "token": CLOUD_TOKEN,
                      "url": f"http://127.0.0.1:{free_port()}/api/v1", "timeout": 2.0},
            "outbox": {"path": str(tmp_path / "outbox.sqlite")},
        })
        day = "2026-11-20"
        for command in (["check"], ["migrate"], ["migrate", "--dry-run"],
                        ["run", "--seconds", "4"], ["status"], ["export"],
                        ["backfill", "--since", day, "--until", day],
                        ["backfill", "--dry-run", "--since", day, "--until", day],
                        ["backfill", "--undo", "--since", day, "--until", day],
                        ["backfill", "--undo", "--dry-run", "--since", day, "--until", day],
                        ["ledger", "--since", day, "--until", day],
                        ["report", "--day", day],
                        ["cloud-probe", "--date", day, "--out", str(tmp_path / "probe")]):
            result = cli(*command, "-c", str(config), "--log-level", "DEBUG", timeout=180)
            outputs.append((command, result.stdout + result.stderr))
    failed = [command for command, text in outputs if "<redacted>" in text]
    assert failed, "no command met the password at all: the test proves nothing"
    leaks = [(command, secret) for command, text in outputs
             for secret in (PASSWORD, INFLUX_TOKEN, CLOUD_TOKEN) if secret in text]
    assert leaks == [], leaks
