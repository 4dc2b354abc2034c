"""Shared fixtures: a real, private influxd (never a mock, never the system instance on :8086).

Fixtures:
- `influxd`            session-scoped InfluxServer shared by all tests (do not stop it in a test)
- `influx_db`          a fresh database on `influxd`, dropped afterwards; the value is its name
- `v2_proxy`           a V2Proxy in front of `influxd` (`/api/v2/write` -> `/write`)
- `private_influxd`    a function-scoped InfluxServer of the test's own: stop/kill/restart it freely
- `private_v2_proxy`   a V2Proxy in front of `private_influxd`
- `auth_influxd`       a private InfluxServer with authentication on and an admin user
- `mosquitto`          a private MQTT broker (Debian's mosquitto) of the test's own
- `make_mosquitto`     more brokers, with a password file (`users=`) or persistence
- `shared_mosquitto`   session-scoped broker for module-scoped recorded runs

Without an influxd binary these fixtures skip the test, unless `JULLIX_REQUIRE_INFLUXD=1` (CI),
which turns the skip into a failure. `JULLIX_INFLUXD=/path/to/influxd` picks another binary.
The same for mosquitto: `JULLIX_REQUIRE_MOSQUITTO=1`, `JULLIX_MOSQUITTO=/path/to/mosquitto`;
a system broker on :1883 is never used.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # `import v2_proxy` from any test

from v2_proxy import V2Proxy

from logger.testbed.influxd import InfluxQueryError, InfluxServer, influxd_path
from logger.testbed.mosquitto import MosquittoServer, mosquitto_path


def _require_influxd() -> str:
    binary = influxd_path()
    if binary:
        return binary
    reason = (
        "no influxd binary (install Debian's `influxdb` package, or set JULLIX_INFLUXD); "
        "integration tests need a real InfluxDB 1.x server"
    )
    if os.environ.get("JULLIX_REQUIRE_INFLUXD") == "1":
        pytest.fail(f"JULLIX_REQUIRE_INFLUXD=1 but {reason}", pytrace=False)
    pytest.skip(reason)


def _running_server(auth: bool = False) -> Iterator[InfluxServer]:
    extra = {("http", "auth-enabled"): "true"} if auth else None
    server = InfluxServer(_require_influxd(), extra_config=extra)
    try:
        server.start()
        if auth:
            server.enable_auth()  # the test's admin; every request of `server` uses it
        yield server
    finally:
        server.close()


@pytest.fixture(autouse=True)
def _keep_the_umask() -> Iterator[None]:
    """`jullix-logger` sets umask 077 for its process (logger/cli/main.py); a test calling
    `main()` in-process must not change it for the tests after it."""
    umask = os.umask(0o022)
    os.umask(umask)
    yield
    os.umask(umask)


@pytest.fixture(scope="session")
def influxd() -> Iterator[InfluxServer]:
    yield from _running_server()


@pytest.fixture
def influx_db(influxd: InfluxServer) -> Iterator[str]:
    if not influxd.is_running:  # a test stopped the shared server: heal rather than cascade
        influxd.start()
    name = f"test_{uuid.uuid4().hex[:12]}"
    influxd.create_database(name)
    yield name
    with contextlib.suppress(InfluxQueryError, OSError):  # the test may have stopped the server
        influxd.drop_database(name)


@pytest.fixture
def v2_proxy(influxd: InfluxServer) -> Iterator[V2Proxy]:
    proxy = V2Proxy(influxd.url).start()
    yield proxy
    proxy.stop()


@pytest.fixture
def private_influxd() -> Iterator[InfluxServer]:
    yield from _running_server()


@pytest.fixture
def auth_influxd() -> Iterator[InfluxServer]:
    """A private influxd with `auth-enabled = true` and an admin (`server.admin`), for the
    least-privilege users a test creates."""
    yield from _running_server(auth=True)


@pytest.fixture
def private_v2_proxy(private_influxd: InfluxServer) -> Iterator[V2Proxy]:
    proxy = V2Proxy(private_influxd.url).start()
    yield proxy
    proxy.stop()


# -- a private MQTT broker ----------------------------------------------------------------------


def _require_mosquitto() -> str:
    binary = mosquitto_path()
    if binary:
        return binary
    reason = ("no mosquitto binary (install Debian's `mosquitto` package, or set "
              "JULLIX_MOSQUITTO); the MQTT tests need a real broker")
    if os.environ.get("JULLIX_REQUIRE_MOSQUITTO") == "1":
        pytest.fail(f"JULLIX_REQUIRE_MOSQUITTO=1 but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture
def make_mosquitto() -> Iterator[Any]:
    """`make_mosquitto(users={"u": "pw"}, persistence=True)`: a started broker, closed after
    the test."""
    brokers: list[MosquittoServer] = []

    def make(**options: Any) -> MosquittoServer:
        broker = MosquittoServer(_require_mosquitto(), **options)
        brokers.append(broker)
        return broker.start()

    yield make
    for broker in brokers:
        broker.close()


@pytest.fixture
def mosquitto(make_mosquitto: Any) -> MosquittoServer:
    return make_mosquitto()


@pytest.fixture(scope="session")
def shared_mosquitto() -> Iterator[MosquittoServer]:
    """One broker for module-scoped runs (tests/test_grafana.py); do not stop it in a test."""
    broker = MosquittoServer(_require_mosquitto()).start()
    yield broker
    broker.close()


# -- a cloud token per test, which no log line may show ----------------------------------------


@pytest.fixture
def token() -> str:
    """A fresh cloud token for one test (the simulated cloud accepts the one it is given)."""
    return f"tok-{uuid.uuid4().hex}"


@pytest.fixture
def checked_logs(caplog: pytest.LogCaptureFixture, token: str
                 ) -> Iterator[pytest.LogCaptureFixture]:
    """Every log record at DEBUG, and afterwards: the token appears in none of them."""
    caplog.set_level(logging.DEBUG)
    yield caplog
    assert token not in caplog.text


# -- the fault scenarios' accounting, in the terminal summary (tests/faults/conftest.py) -------

ACCOUNTING_PROPERTY = "accounting"
_ACCOUNTING_LINES: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Collect the accounting lines where the summary is printed (the main process, also
    under pytest-xdist, whose workers send their reports with the user properties)."""
    if report.when == "teardown":
        _ACCOUNTING_LINES.extend(str(value) for name, value in report.user_properties
                                 if name == ACCOUNTING_PROPERTY)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _ACCOUNTING_LINES:
        terminalreporter.section("fault scenario accounting")
        for line in _ACCOUNTING_LINES:
            terminalreporter.write_line(line)
