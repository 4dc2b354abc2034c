"""Files and secrets: what the logger creates is private, a password in a URL is never shown,
and credentials that would travel over plain http to another host are pointed out.

The processes run with the test's own umask (typically 022, which made files 0644 before).
"""

from __future__ import annotations

import logging
import os
import stat
import subprocess
import sys
import uuid
from datetime import date
from pathlib import Path

import pytest
from harness import ROOT, write_config
from pydantic import SecretStr
from test_cloud_client import run

from logger.config import InfluxSettings
from logger.sink import http
from logger.sources.cloud.probe import probe

SECRET = "pw5e1c09a7d3b8"  # fixed: test ids carry it, and xdist workers must agree on them


def cli(*args: str, umask: int = 0o022) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "logger", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120,
                          preexec_fn=lambda: os.umask(umask))


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_an_outbox_created_by_hand_is_readable_by_its_user_only(tmp_path):
    state = tmp_path / "fresh" / "state"
    config = write_config(tmp_path / "c.toml", {
        "local": {"enabled": False},
        "outbox": {"path": str(state / "outbox.sqlite")},
    })
    result = cli("run", "-c", str(config), "--seconds", "1")  # `check` creates nothing
    assert result.returncode == 0, result.stdout + result.stderr
    assert mode(tmp_path / "fresh") == 0o700 and mode(state) == 0o700
    files = list(state.iterdir())
    assert any(p.name == "outbox.sqlite" for p in files)
    assert all(mode(p) == 0o600 for p in files), {p.name: oct(mode(p)) for p in files}


def test_cloud_probe_files_are_readable_by_their_user_only(tmp_path):
    token = f"tok-{uuid.uuid4().hex}"
    out = tmp_path / "probe"
    old = os.umask(0o022)
    try:
        run(token, lambda sim, client, seen: probe(client, None, date(2026, 1, 14), out),
            resolution=3600)
    finally:
        os.umask(old)
    files = list(out.iterdir())
    assert len(files) >= 20
    assert mode(out) == 0o700
    assert all(mode(p) == 0o600 for p in files), {p.name: oct(mode(p)) for p in files}


@pytest.mark.integration
def test_a_password_in_the_influxdb_url_is_never_shown(tmp_path, influxd, influx_db):
    host = influxd.url.removeprefix("http://")
    config = write_config(tmp_path / "c.toml", {
        "local": {"enabled": False},
        "influx": {"url": f"http://jullix:{SECRET}@{host}", "database": influx_db},
        "outbox": {"path": str(tmp_path / "outbox.sqlite")},
    })
    outputs = {}
    for command in (["check"], ["migrate", "--dry-run"], ["run", "--seconds", "2"],
                    ["status"]):
        result = cli(*command, "-c", str(config))
        outputs[command[0]] = result.stdout + result.stderr
        assert result.returncode == 0, outputs[command[0]]
    for command, text in outputs.items():
        assert SECRET not in text, (command, text)
    assert f"http://<redacted>@{host}" in outputs["check"]
    assert f"<redacted>@{host}" in outputs["run"]  # the start-up line
    assert f"<redacted>@{host}" in outputs["status"]


def settings(url: str, **secrets) -> InfluxSettings:
    return InfluxSettings(url=url, **{k: SecretStr(v) for k, v in secrets.items()})


@pytest.mark.parametrize(("url", "secrets", "warned"), [
    ("http://influx.lan:8086", {"token": "t"}, True),
    ("http://192.168.1.20:8086", {"password": "p"}, True),
    (f"http://jullix:{SECRET}@influx.lan:8086", {}, True),
    ("https://influx.lan:8086", {"token": "t"}, False),
    ("http://127.0.0.1:8086", {"token": "t"}, False),
    ("http://localhost:8086", {"password": "p"}, False),
    ("http://[::1]:8086", {"token": "t"}, False),
    ("http://influx.lan:8086", {}, False),  # nothing secret to expose
])
def test_credentials_over_plain_http_to_another_host_are_pointed_out(url, secrets, warned):
    warning = settings(url, **secrets).plain_http_warning()
    assert (warning is not None) == warned
    if warning:
        assert SECRET not in warning and "https" in warning


def test_the_plain_http_warning_is_logged_once_per_process(caplog, monkeypatch):
    monkeypatch.setattr(http, "_warned", set())
    caplog.set_level(logging.WARNING)
    remote = settings("http://influx.lan:8086", token="t")
    for _ in range(3):
        http.warn_plain_http(remote)
    http.warn_plain_http(settings("http://127.0.0.1:8086", token="t"))
    assert [r.getMessage() for r in caplog.records].count(remote.plain_http_warning()) == 1
    assert len(caplog.records) == 1
