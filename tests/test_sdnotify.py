"""sd_notify through real unix datagram sockets, and the watchdog of the running service."""

from __future__ import annotations

import asyncio
import itertools
import os
import socket
import threading
import time
import uuid
from pathlib import Path

import pytest
from trickling_server import TricklingServer

from logger.app import service as service_module
from logger.app.service import Service
from logger.app.systemd import Notifier, health_problem, notify, watchdog_interval
from logger.config import Settings
from logger.core.point import Point


class Listener:
    """A bound AF_UNIX datagram socket collecting (monotonic time, message) in a thread."""

    def __init__(self, address: str) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(address)
        self.sock.settimeout(0.1)
        self.messages: list[tuple[float, str]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            self.messages.append((time.monotonic(), data.decode()))

    def lines(self, prefix: str) -> list[tuple[float, str]]:
        return [(t, line) for t, m in self.messages for line in m.splitlines()
                if line.startswith(prefix)]

    def wait_for(self, prefix: str, timeout: float = 5.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.lines(prefix)
            if found:
                return found[-1][1]
            time.sleep(0.02)
        raise AssertionError(f"no {prefix} message in {self.messages}")

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()


@pytest.fixture
def path_listener(tmp_path, monkeypatch):
    address = str(tmp_path / "notify.sock")
    listener = Listener(address)
    monkeypatch.setenv("NOTIFY_SOCKET", address)
    yield listener
    listener.close()


@pytest.fixture
def clean_env(monkeypatch):
    for name in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"):
        monkeypatch.delenv(name, raising=False)


# -- the protocol ------------------------------------------------------------------------


def test_a_message_reaches_a_socket_in_the_file_system(path_listener):
    assert notify("READY=1", "STATUS=starting") is True
    assert path_listener.wait_for("READY=") == "READY=1"
    assert path_listener.messages[0][1] == "READY=1\nSTATUS=starting"


def test_an_abstract_socket_name_with_at_sign(monkeypatch, clean_env):
    name = f"jullix-test-{uuid.uuid4().hex}"
    listener = Listener("\0" + name)
    try:
        monkeypatch.setenv("NOTIFY_SOCKET", "@" + name)
        notifier = Notifier()
        assert notifier.enabled
        assert notifier.status("polling") and notifier.watchdog()
        assert listener.wait_for("WATCHDOG=") == "WATCHDOG=1"
        assert listener.wait_for("STATUS=") == "STATUS=polling"
        notifier.close()
    finally:
        listener.close()


def test_without_notify_socket_everything_is_a_no_op(clean_env):
    assert notify("READY=1") is False
    notifier = Notifier()
    assert not notifier.enabled
    assert notifier.ready() is False and notifier.watchdog() is False


def test_a_vanished_socket_is_not_an_error(tmp_path, clean_env):
    notifier = Notifier(str(tmp_path / "gone.sock"))
    assert notifier.send("READY=1") is False


def test_the_watchdog_interval_is_half_of_watchdog_usec(monkeypatch, clean_env):
    assert watchdog_interval() is None
    monkeypatch.setenv("WATCHDOG_USEC", "400000")
    assert watchdog_interval() == pytest.approx(0.2)
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    assert watchdog_interval() == pytest.approx(0.2)
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid() + 1))  # meant for another process
    assert watchdog_interval() is None


# -- the service -------------------------------------------------------------------------


def settings_for(tmp_path: Path, url: str, **influx) -> Settings:
    return Settings(
        local={"enabled": False},
        influx={"url": url, **influx},
        outbox={"path": tmp_path / "outbox.sqlite"},
    )


def a_point() -> Point:
    return Point("meter", (("installation", "home"),), (("power_w", 1.0),), int(time.time()))


@pytest.mark.integration
def test_the_service_says_ready_status_watchdog_and_stopping(
    tmp_path, influxd, influx_db, path_listener, monkeypatch
):
    monkeypatch.setenv("WATCHDOG_USEC", "400000")
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    service = Service(settings_for(tmp_path, influxd.url, database=influx_db))
    service.outbox.put([a_point()])
    asyncio.run(service.run(duration=3.0))

    texts = [m for _, m in path_listener.messages]
    assert texts[0].startswith("READY=1")
    watchdogs = path_listener.lines("WATCHDOG=1")
    assert len(watchdogs) >= 8, texts  # every 0.2 s for 3 s
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(watchdogs)]
    assert max(gaps) < 0.4  # never as late as WATCHDOG_USEC
    statuses = [line for _, line in path_listener.lines("STATUS=")]
    assert any("outbox" in s and "waiting" in s for s in statuses), statuses
    assert any("last write" in s for s in statuses), statuses
    assert "STOPPING=1" in texts[-1]
    assert len(influxd.points(influx_db, "meter")) == 1


def test_watchdog_pings_stop_while_the_writer_is_wedged(tmp_path, path_listener, monkeypatch):
    """The backstop: a flush that outlives the wedge limit stops the pings. Every flush has a
    budget now (next test), so a wedge is simulated by lifting the budget."""
    monkeypatch.setattr(service_module, "FLUSH_BUDGET_FACTOR", 100.0)
    monkeypatch.setenv("WATCHDOG_USEC", "400000")
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    server = TricklingServer()
    # timeout 1 s: the wedge limit is 3 x 1 + 5 = 8 s; auto_migrate off so the write happens.
    service = Service(settings_for(tmp_path, server.url, timeout=1.0, auto_migrate=False))
    service.outbox.put([a_point()])

    async def scenario() -> dict[str, float]:
        task = asyncio.create_task(service.run())
        started = time.monotonic()
        await asyncio.sleep(12.0)
        assert health_problem(service) is not None
        wedged_seen = time.monotonic()
        server.close()  # the hung write fails now; the writer is healthy again
        await asyncio.sleep(1.5)
        service.request_stop()
        await asyncio.wait_for(task, 20)
        return {"started": started, "wedged_seen": wedged_seen}

    try:
        times = asyncio.run(scenario())
    finally:
        server.close()
    pings = [t for t, _ in path_listener.lines("WATCHDOG=1")]
    first_write = times["started"] + 1.0  # the flush job runs every second
    assert [t for t in pings if t < first_write + 7.0], "pings before the wedge limit"
    silent = [t for t in pings if first_write + 9.0 < t < times["wedged_seen"]]
    assert silent == [], "no watchdog pings while the writer is wedged"
    assert [t for t in pings if t > times["wedged_seen"] + 0.5], "pings resume after recovery"
    unhealthy = [line for _, line in path_listener.lines("STATUS=UNHEALTHY")]
    assert unhealthy and "the InfluxDB writer is wedged" in unhealthy[0]


def test_a_trickling_influxdb_is_ended_by_the_flush_budget_not_by_the_watchdog(
        tmp_path, path_listener, monkeypatch):
    """Issue 13: each flush ends within 2 x timeout + 1 s however slowly InfluxDB answers, so
    the writer never counts as wedged, the pings go on, and the point stays queued."""
    monkeypatch.setenv("WATCHDOG_USEC", "400000")
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    server = TricklingServer()
    service = Service(settings_for(tmp_path, server.url, timeout=1.0, auto_migrate=False))
    service.outbox.put([a_point()])

    async def scenario() -> tuple[float, float, int]:
        task = asyncio.create_task(service.run())
        started = time.monotonic()
        await asyncio.sleep(9.0)  # past the wedge limit of 3 x 1 + 5 = 8 s
        assert health_problem(service) is None
        depth = service.outbox.depth()
        ended = time.monotonic()
        service.request_stop()
        await asyncio.wait_for(task, 20)
        return started, ended, depth

    try:
        started, ended, depth = asyncio.run(scenario())
    finally:
        server.close()
    pings = sorted(t for t, _ in path_listener.lines("WATCHDOG=1") if started <= t <= ended)
    gaps = [b - a for a, b in zip([started, *pings], [*pings, ended], strict=True)]
    assert max(gaps) < 1.5, "the pings never stopped"
    assert not path_listener.lines("STATUS=UNHEALTHY")
    assert depth == 1  # not confirmed, so still queued


def test_an_influxdb_that_is_down_is_not_a_wedge(tmp_path, path_listener, monkeypatch):
    """Refused connections fail fast: points wait in the outbox and the pings go on."""
    monkeypatch.setenv("WATCHDOG_USEC", "400000")
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    service = Service(settings_for(tmp_path, "http://127.0.0.1:9", timeout=1.0))
    service.outbox.put([a_point()])
    asyncio.run(service.run(duration=3.0))
    pings = path_listener.lines("WATCHDOG=1")
    assert len(pings) >= 8
    assert not path_listener.lines("STATUS=UNHEALTHY")
    statuses = [line for _, line in path_listener.lines("STATUS=")]
    assert any("InfluxDB unreachable, holding writes" in s for s in statuses), statuses
