"""`scripts/install`, as the install guide runs it, into a temporary root (`--root DIR`): systemd
cannot run here, so every file it would create is checked instead, with its mode and owner;
then a second run (idempotent: the config untouched), and `--uninstall`, which refuses while the
outbox holds points InfluxDB has not received.

One real install (a venv and pip, from the wheel cache when warm: about 25 s here) serves every
check of this module.
"""

from __future__ import annotations

import os
import stat
import subprocess
import time
from pathlib import Path

import pytest
from harness import ROOT

from logger.core.point import Point
from logger.outbox import Outbox

SCRIPT = ROOT / "scripts" / "install"
TOKEN = "tok-install-test-7f3a"


def install(root: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JULLIX_LOGGER_")}
    return subprocess.run([str(SCRIPT), "--root", str(root), *args], capture_output=True,
                          text=True, timeout=timeout, env=env)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(root, first run, seconds it took) of one install with a cloud token."""
    root = tmp_path_factory.mktemp("root")
    token = tmp_path_factory.mktemp("secret") / "token"
    token.write_text(TOKEN + "\n")
    started = time.monotonic()
    result = install(root, "--cloud-token-file", str(token))
    return root, result, time.monotonic() - started


def test_install_puts_every_file_in_place_with_its_mode_and_owner(installed):
    root, result, seconds = installed
    assert result.returncode == 0, result.stdout + result.stderr
    print(f"scripts/install into a temporary root took {seconds:.1f} s")
    venv_cli = root / "opt/jullix-logger/venv/bin/jullix-logger"
    assert os.access(venv_cli, os.X_OK)
    link = root / "usr/local/bin/jullix-logger"
    assert link.is_symlink() and os.readlink(link) == "/opt/jullix-logger/venv/bin/jullix-logger"
    unit = root / "etc/systemd/system/jullix-logger.service"
    assert unit.read_bytes() == (ROOT / "systemd/jullix-logger.service").read_bytes()
    assert mode(unit) == 0o644
    config = root / "etc/jullix-logger/config.toml"
    assert config.read_bytes() == (ROOT / "config.example.toml").read_bytes()
    # The service's dynamic user reads the config: world-readable, so no secret goes in it.
    assert mode(config) == 0o644 and mode(config.parent) == 0o755
    credential = root / "etc/credstore/jullix-logger.cloud_token"
    assert credential.read_text() == TOKEN  # one line, nothing around it
    assert mode(credential) == 0o600 and mode(credential.parent) == 0o700
    dropin = root / "etc/systemd/system/systemd-time-wait-sync.service.d/jullix-logger.conf"
    assert "TimeoutStartSec=90s" in dropin.read_text().splitlines()
    assert (root / "opt/jullix-logger/share/docs/install-raspberry-pi.md").is_file()
    # Every file belongs to whoever installed (root on the Pi), none is writable by group or
    # others, and only the credential is private.
    for path in [root, *root.rglob("*")]:
        if path.is_symlink():
            continue
        info = path.lstat()
        assert info.st_uid == os.getuid(), path
        assert not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH), (path, oct(info.st_mode))
    # It ended with `check` on the new config, which names the file it read.
    assert f"config {config}" in result.stdout
    assert "next: edit /etc/jullix-logger/config.toml, then: sudo systemctl enable --now " \
           "jullix-logger" in result.stdout


def test_the_installed_unit_runs_the_installed_command_on_the_installed_config(installed):
    root, _, _ = installed
    unit = (root / "etc/systemd/system/jullix-logger.service").read_text()
    assert ("ExecStart=/opt/jullix-logger/venv/bin/jullix-logger run -c "
            "/etc/jullix-logger/config.toml") in unit.splitlines()
    docs = next(line for line in unit.splitlines() if line.startswith("Documentation="))
    assert (root / docs.removeprefix("Documentation=file:///")).is_file()


def test_a_second_run_changes_nothing_and_keeps_an_edited_config(installed):
    root, _, _ = installed
    config = root / "etc/jullix-logger/config.toml"
    config.write_text('# edited by its owner\n' + config.read_text())
    edited = config.read_bytes()
    before = {p: p.lstat().st_mtime_ns for p in root.rglob("*") if "venv" not in p.parts}
    started = time.monotonic()
    result = install(root, "--no-check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert time.monotonic() - started < 30  # no second pip install
    assert "already installed" in result.stdout
    assert "kept the existing config" in result.stdout
    assert config.read_bytes() == edited
    changed = [p for p, t in before.items() if p.lstat().st_mtime_ns != t]
    assert changed == []


def test_uninstall_refuses_while_the_outbox_holds_unsent_points(installed):
    root, _, _ = installed
    state = root / "var/lib/private/jullix-logger"
    state.mkdir(parents=True)
    outbox = Outbox(state / "outbox.sqlite")
    outbox.put([Point.make("meter", {"installation": "home"}, {"power_w": 1.0}, 1_780_000_000)])
    outbox.commit()
    outbox.close()
    refused = install(root, "--uninstall")
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "holds 1 point InfluxDB has not received" in refused.stdout
    assert "--uninstall --force" in refused.stderr
    assert (root / "opt/jullix-logger/venv/bin/jullix-logger").exists()
    assert (state / "outbox.sqlite").exists()
    forced = install(root, "--uninstall", "--force")
    assert forced.returncode == 0, forced.stdout + forced.stderr
    for gone in ("opt/jullix-logger", "usr/local/bin/jullix-logger",
                 "etc/systemd/system/jullix-logger.service",
                 "etc/credstore/jullix-logger.cloud_token", "var/lib/private/jullix-logger"):
        assert not (root / gone).exists(), gone
    assert (root / "etc/jullix-logger/config.toml").exists()  # the user's; said so
    assert "kept /etc/jullix-logger/config.toml" in forced.stdout
