"""Commands an operator runs by hand find the service's data, and uninstalling refuses to delete
points InfluxDB has not received.

The service's state directory is `/var/lib/jullix-logger`, a link into `/var/lib/private/` under
`DynamicUser=yes`; here both live under the test's directory (the module constants are pointed
there), the command runs without `$STATE_DIRECTORY` and with a HOME of its own, as
`sudo jullix-logger status` does.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from harness import ROOT, write_config

from logger.cli.main import main
from logger.config import paths
from logger.core.point import Point
from logger.outbox import Outbox


@pytest.fixture
def service_state(tmp_path, monkeypatch) -> Path:
    """A service state directory as systemd leaves it (link -> private dir), with an outbox."""
    private = tmp_path / "var" / "lib" / "private" / "jullix-logger"
    private.mkdir(parents=True)
    link = tmp_path / "var" / "lib" / "jullix-logger"
    link.symlink_to(private)
    monkeypatch.setattr(paths, "SERVICE_STATE_DIR", link)
    monkeypatch.setattr(paths, "SERVICE_PRIVATE_STATE_DIR", private)
    monkeypatch.delenv("STATE_DIRECTORY", raising=False)
    monkeypatch.delenv("XDG_STATE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "root-home"))
    return link


def queue(path: Path, count: int) -> None:
    outbox = Outbox(path)
    outbox.put(Point.make("m", {"installation": "home"}, {"v": float(i)}, 1_700_000_000 + i)
               for i in range(count))
    outbox.commit()
    outbox.close()


def config_without_paths(tmp_path: Path) -> Path:
    return write_config(tmp_path / "config.toml", {"local": {"enabled": False}})


def test_status_and_export_run_by_hand_find_the_services_outbox(
        tmp_path, service_state, capsys):
    queue(service_state / "outbox.sqlite", 3)
    config = config_without_paths(tmp_path)
    assert main(["status", "-c", str(config)]) == 0
    shown = capsys.readouterr().out
    assert f"outbox        {service_state / 'outbox.sqlite'}" in shown
    assert "3 points waiting" in shown
    assert main(["export", "-c", str(config)]) == 0
    exported = capsys.readouterr()
    assert len(exported.out.splitlines()) == 3 and "exported 3 points" in exported.err
    assert not (tmp_path / "root-home").exists()  # nothing looked for (or made) in root's home


def test_without_a_service_on_the_machine_the_xdg_state_home_is_used(tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "SERVICE_STATE_DIR", tmp_path / "absent")
    monkeypatch.setattr(paths, "SERVICE_PRIVATE_STATE_DIR", tmp_path / "absent-too")
    monkeypatch.delenv("STATE_DIRECTORY", raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    assert paths.default_state_dir() == tmp_path / "xdg" / "jullix-logger"
    monkeypatch.setenv("STATE_DIRECTORY", str(tmp_path / "unit"))  # inside the unit
    assert paths.default_state_dir() == tmp_path / "unit"


def test_check_empty_refuses_while_points_are_unsent_and_allows_once_delivered(
        tmp_path, service_state, capsys):
    config = config_without_paths(tmp_path)
    queue(service_state / "outbox.sqlite", 2)
    assert main(["status", "--check-empty", "-c", str(config)]) == 1
    said = capsys.readouterr().out
    assert "holds 2 points InfluxDB has not received" in said and "export" in said
    outbox = Outbox(service_state / "outbox.sqlite")
    outbox.ack(outbox.peek(10))  # what a delivery does once InfluxDB confirmed them
    outbox.close()
    assert main(["status", "--check-empty", "-c", str(config)]) == 0
    assert "nothing unsent" in capsys.readouterr().out


def test_the_uninstall_steps_delete_the_state_directory_only_after_the_check():
    """The guide uninstalls with `scripts/install --uninstall`, which runs `status
    --check-empty` before anything is removed (tests/test_install.py runs it)."""
    guide = (ROOT / "docs" / "install-raspberry-pi.md").read_text()
    section = guide[guide.index("## 9. Uninstalling"):]
    assert "sudo ./scripts/install --uninstall" in section
    script = (ROOT / "scripts" / "install").read_text()
    uninstall = script[script.index("uninstall() {"):]
    uninstall = uninstall[:uninstall.index("\n}\n")]
    check = uninstall.index("status --check-empty")
    assert all(uninstall.index(rm) > check for rm in ('rm -rf "$R$OPT"', "rm -rf \"${R:?}$dir\"",
                                                       'rm -f "$R$UNIT"'))
