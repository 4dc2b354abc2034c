"""What `jullix-logger check` tests: each configured source and the sink, once, pass or fail.

Meant for the moment after installing or editing the config: it talks to each thing once, says
what it found in words a user can act on (with the values it read, so a user can hold them
against the meter's display on day one), and never returns a secret. It changes nothing: an
outbox that does not exist yet is not created (`run` creates it).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from logger.app.check_sources import CheckResult, check_cloud, check_local, check_p1, p1_wait
from logger.config import Settings
from logger.core.words import plural
from logger.outbox import Outbox
from logger.sink.flavour import Flavour, api_problem
from logger.sink.influxql import InfluxQL, QueryError
from logger.sink.support import support_lines
from logger.sink.targets import ledger_influx


async def check_influx(settings: Settings) -> CheckResult:
    """InfluxDB answers, with the API configured, and has the database; a password or token
    that would travel over plain http to another host is pointed out whatever the answer."""
    result = await _check_influx(settings)
    warning = settings.influx.plain_http_warning() if settings.influx.configured else None
    if warning:
        result.notes.append(f"WARNING: {warning}")
    return result


async def _check_influx(settings: Settings) -> CheckResult:
    influx = settings.influx
    if not influx.configured:
        return CheckResult(
            "influx", True,
            f"not configured: points stay in the embedded store {settings.outbox.path}",
        )
    reader = InfluxQL(influx)
    try:
        flavour = await reader.flavour()
        problem = api_problem(flavour, influx.api)
        if problem:
            return CheckResult("influx", False, f"{influx.display_url}: {problem}")
        span = await reader.read_span()
        notes = support_lines(flavour, influx, ledger_influx(settings), span.seconds)
        databases: list[dict[str, Any]] | None
        try:
            databases = await reader.query("SHOW DATABASES", database="")
        except QueryError as exc:  # a token that may write only may not list them
            if "401" not in str(exc) and "403" not in str(exc):
                raise
            databases = None
            notes.insert(0, f"this token may not list databases ({str(exc)[:120]}): "
                         "whether the place exists shows at the first write")
        names = None if databases is None else {
            row[0] for series in databases for row in series.get("values") or []}
    except QueryError as exc:
        return CheckResult("influx", False, f"{influx.display_url} (API {influx.api}): {exc}")
    finally:
        await reader.close()
    result = _place_result(settings, flavour, reader.database, names)
    result.notes.extend(notes)
    return result


def _place_result(settings: Settings, flavour: Flavour, target: str, names: set[str] | None
                  ) -> CheckResult:
    influx = settings.influx
    where = f"{influx.display_url} (API {influx.api}): {flavour}"
    # InfluxDB 1.x lists every database (an empty list: there are none); through API v2 an
    # empty answer may only mean that no DBRP mapping is listed, so it proves nothing.
    if names is not None and (names or influx.api == "v1") and target not in names:
        if influx.auto_migrate:
            return CheckResult("influx", True, f"{where}; database {target!r} does not exist "
                               "yet: `run` creates it at start ([influx] auto_migrate)")
        return CheckResult("influx", False, f"{where}; database {target!r} does not exist and "
                           "[influx] auto_migrate = false: create it with `jullix-logger "
                           "migrate`")
    return CheckResult("influx", True, f"{where}, database {target!r}")


def check_outbox(settings: Settings) -> CheckResult:
    """Only read: an outbox that does not exist is not created (`check` changes nothing; next
    to the running service as root it must not leave files its user could not open)."""
    path = settings.outbox.path
    if not path.exists():
        parent = _nearest_existing(path.parent)
        if os.access(parent, os.W_OK | os.X_OK):
            return CheckResult("outbox", True, f"{path}: none yet; `run` creates it")
        return CheckResult("outbox", False, f"{path}: none yet, and `run` could not create it: "
                           f"{parent} is not writable for this user")
    try:
        outbox = Outbox(path, read_only=True)
        try:
            depth = outbox.depth()
        finally:
            outbox.close()
    except Exception as exc:  # any failure here is the answer we report
        return CheckResult("outbox", False, f"{path}: {exc}")
    return CheckResult("outbox", True, f"{path}: readable, {plural(depth, 'point')} waiting")


def _nearest_existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


async def check_mqtt(settings: Settings) -> CheckResult:
    """Connect, subscribe to a test topic, publish there and receive it back (the probe in
    logger/outputs/mqtt); a password sent unencrypted to another host is pointed out."""
    from logger.outputs.mqtt.discovery import slug  # the MQTT client only when [mqtt] is on
    from logger.outputs.mqtt.probe import probe

    mqtt = settings.mqtt
    ok, detail = await probe(mqtt, f"{mqtt.topic_prefix}/{slug(settings.installation)}")
    warning = mqtt.plain_text_warning()
    return CheckResult("mqtt", ok, detail + (f"; WARNING: {warning}" if warning else ""))


async def run_checks(settings: Settings, announce: Callable[[str], None] | None = None
                     ) -> AsyncIterator[CheckResult]:
    """Every applicable check, in the order `check` prints them, each as soon as it is done;
    `announce` hears about a check that may take a while (the P1 stream) before it starts."""
    yield check_outbox(settings)
    if settings.local.enabled:
        yield await check_local(settings)
    if settings.p1.enabled:
        if announce is not None:
            announce(p1_wait(settings))
        yield await check_p1(settings)
    yield await check_influx(settings)
    if settings.cloud.enabled:
        yield await check_cloud(settings)
    if settings.mqtt.active:
        yield await check_mqtt(settings)
