"""The systemd unit: `systemd-analyze verify`, its settings, and the real process under the
unit's environment with writable+executable memory forbidden (MemoryDenyWriteExecute=)."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
UNIT = ROOT / "systemd" / "jullix-logger.service"
INSTALLED_BINARY = "/opt/jullix-logger/venv/bin/jullix-logger"
INSTALLED_CONFIG = "/etc/jullix-logger/config.toml"
VENV_BINARY = Path(sys.executable).parent / "jullix-logger"


def settings_of(text: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";", "[")):
            continue
        key, _, value = line.partition("=")
        found.setdefault(key.strip(), []).append(value.strip())
    return found


def unit_with_real_binary(tmp_path: Path) -> Path:
    """A copy of the unit whose ExecStart names this venv's binary (the /opt one is not here)."""
    if not VENV_BINARY.exists():
        pytest.skip(f"{VENV_BINARY} not installed (pip install -e .)")
    text = UNIT.read_text()
    assert f"ExecStart={INSTALLED_BINARY} run -c {INSTALLED_CONFIG}" in text
    path = tmp_path / "jullix-logger.service"
    path.write_text(text.replace(INSTALLED_BINARY, str(VENV_BINARY)))
    return path


needs_analyze = pytest.mark.skipif(
    shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed"
)


@needs_analyze
def test_systemd_analyze_verify_passes(tmp_path):
    unit = unit_with_real_binary(tmp_path)
    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", str(unit)],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stderr.strip() == "", result.stderr


@needs_analyze
def test_the_security_exposure_stays_low(tmp_path):
    unit = unit_with_real_binary(tmp_path)
    result = subprocess.run(
        ["systemd-analyze", "security", "--offline=true", str(unit)],
        capture_output=True, text=True, timeout=60,
    )
    if "--offline" in result.stderr and result.returncode != 0:
        pytest.skip("this systemd-analyze has no --offline")
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", result.stdout)
    assert match, result.stdout + result.stderr
    assert float(match.group(1)) <= 2.0, result.stdout  # documented: 1.4 on systemd 252


def test_the_unit_has_what_the_service_relies_on():
    s = settings_of(UNIT.read_text())
    assert s["Type"] == ["notify"]
    assert s["NotifyAccess"] == ["main"]
    # The config named: `run` refuses to start on silent defaults when the file is missing.
    assert s["ExecStart"] == [f"{INSTALLED_BINARY} run -c {INSTALLED_CONFIG}"]
    assert s["DynamicUser"] == ["yes"]
    assert s["StateDirectory"] == ["jullix-logger"]  # outbox: $STATE_DIRECTORY/outbox.sqlite
    assert s["ConfigurationDirectory"] == ["jullix-logger"]  # $CONFIGURATION_DIRECTORY/config.toml
    assert s["PrivateTmp"] == ["yes"]  # explicit: bookworm's 252 has no "disconnected"
    # Never gives up while the machine is up (issue 13): always restarted, 10 s apart, and no
    # start rate limit that would leave the unit failed until `systemctl reset-failed`.
    assert s["Restart"] == ["always"]
    assert s["RestartSec"] == ["10"]
    assert s["StartLimitIntervalSec"] == ["0"]
    assert "StartLimitBurst" not in s
    assert s["RestartPreventExitStatus"] == ["2"]  # a config error does not heal by restarting
    assert "PYTHONUNBUFFERED=1" in s["Environment"]
    assert int(s["WatchdogSec"][0]) >= 30
    assert s["After"] and "network-online.target" in s["After"][0]
    assert s["Wants"] == ["network-online.target time-sync.target"]
    # Credentials: relative names (searched in /etc/credstore/ etc., skipped when missing),
    # one per name config.py reads from $CREDENTIALS_DIRECTORY.
    from logger.config.credentials import CREDENTIAL_FIELDS

    creds = dict(value.split(":", 1) for value in s["LoadCredential"])
    assert set(creds) == set(CREDENTIAL_FIELDS)
    assert all(not source.startswith("/") for source in creds.values())


def test_the_unit_starts_after_the_clock_is_set_when_ntp_can_set_it():
    """A Pi has no RTC: `After=` alone does not pull time-sync.target in; `Wants=` does, and
    the install enables systemd-time-wait-sync (bounded, so no NTP never means no logging;
    tests/test_install.py checks the drop-in it writes)."""
    s = settings_of(UNIT.read_text())
    assert "time-sync.target" in s["After"][0].split()
    assert "time-sync.target" in s["Wants"][0].split()
    install = (ROOT / "scripts" / "install").read_text()
    assert "systemctl enable systemd-time-wait-sync.service" in install
    assert '"TimeoutStartSec=90s"' in install
    assert "systemd-time-wait-sync" in (ROOT / "docs" / "install-raspberry-pi.md").read_text()


def test_the_watchdog_outlasts_the_wedge_limit_of_the_default_timeout():
    from logger.app.health import WEDGE_FACTOR, WEDGE_GRACE
    from logger.app.systemd import STATUS_EVERY
    from logger.config import Settings

    watchdog = int(settings_of(UNIT.read_text())["WatchdogSec"][0])
    timeout = Settings().influx.timeout
    # pings every min(WatchdogSec/2, STATUS_EVERY): a healthy service is never late
    assert min(watchdog / 2, STATUS_EVERY) < watchdog
    # a wedge is declared well within a few watchdog periods
    assert WEDGE_FACTOR * timeout + WEDGE_GRACE < 2 * watchdog


# -- the real process, as systemd would start it -------------------------------------------

PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN = 65, 1
MDWE_EXEC = textwrap.dedent(
    f"""
    import ctypes, os, sys
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl({PR_SET_MDWE}, {PR_MDWE_REFUSE_EXEC_GAIN}, 0, 0, 0) != 0:
        sys.exit(77)  # kernel older than 6.3: no PR_SET_MDWE
    os.execv(sys.argv[1], sys.argv[1:])
    """
)


@pytest.mark.integration
@pytest.mark.parametrize("api", ["v1", "v2"])
def test_the_real_process_runs_with_memory_deny_write_execute(tmp_path, private_influxd,
                                                               private_v2_proxy, api):
    """`jullix-logger run` under the kernel's MDWE (what MemoryDenyWriteExecute=yes enforces),
    with the directories and the notify socket systemd would give it."""
    if not VENV_BINARY.exists():
        pytest.skip(f"{VENV_BINARY} not installed")
    state, config_dir = tmp_path / "state", tmp_path / "etc"
    state.mkdir()
    config_dir.mkdir()
    url = private_influxd.url if api == "v1" else private_v2_proxy.url
    (config_dir / "config.toml").write_text(textwrap.dedent(f"""
        [local]
        url = "http://127.0.0.1:9"
        [influx]
        url = "{url}"
        api = "{api}"
        retention = "52w"
    """))
    notify_path = str(tmp_path / "notify.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(notify_path)
    listener.settimeout(0.5)
    env = {k: v for k, v in os.environ.items() if not k.startswith("JULLIX_LOGGER_")}
    env.update(STATE_DIRECTORY=str(state), CONFIGURATION_DIRECTORY=str(config_dir),
               NOTIFY_SOCKET=notify_path, WATCHDOG_USEC="2000000", PYTHONUNBUFFERED="1")
    try:
        proc = subprocess.run(
            [sys.executable, "-c", MDWE_EXEC, str(VENV_BINARY), "run", "--seconds", "4"],
            env=env, capture_output=True, text=True, timeout=60, cwd=tmp_path,
        )
        if proc.returncode == 77:
            pytest.skip("kernel has no PR_SET_MDWE (Linux < 6.3)")
        messages = []
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:
            try:
                messages.append(listener.recv(4096).decode())
            except TimeoutError:
                break
    finally:
        listener.close()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    assert (state / "outbox.sqlite").exists()
    assert messages and messages[0].startswith("READY=1"), messages
    assert any("WATCHDOG=1" in m for m in messages)
    assert "STOPPING=1" in messages[-1]
    ids = sorted(r["id"] for r in private_influxd.points("jullix", "_jullix_migrations"))
    assert ids == ["0001", "0002", "0003", "0004"]  # 0003: ledger policy; 0004: DBRP
