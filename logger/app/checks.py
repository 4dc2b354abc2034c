"""What `jullix-logger check` tests: each configured source and the sink, once, pass or fail.

Meant for the moment after installing or editing the config: it talks to each thing once, says
what it found in words a user can act on, and never returns a secret.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from logger.app.delivery import open_outbox
from logger.config import Settings
from logger.core.logs import get_logger
from logger.core.problems import Problems
from logger.core.urls import redact_url
from logger.outbox import Outbox
from logger.sink.influxql import InfluxQL, QueryError
from logger.sources.local.collector import ENDPOINTS, LocalCollector, Status


@dataclass
class CheckResult:
    name: str
    ok: bool
    detail: str


async def check_local(settings: Settings) -> CheckResult:
    collector = LocalCollector(
        settings.local.url, settings.installation, settings.local.timeout,
        Problems(get_logger("check")),
    )
    try:
        results = await asyncio.gather(*(collector.fetch(name) for name in ENDPOINTS))
    finally:
        await collector.close()
    parts = []
    meter = results[0]
    for result in results:
        if result.status is Status.OK:
            parts.append(f"{result.name} ok")
        elif result.status is Status.ABSENT:
            parts.append(f"{result.name} absent")
        else:
            parts.append(f"{result.name} FAILED ({result.error})")
    ok = meter.status is Status.OK and all(r.status is not Status.FAILED for r in results)
    return CheckResult("local", ok, f"{redact_url(settings.local.url)}: " + ", ".join(parts))


async def check_influx(settings: Settings) -> CheckResult:
    """InfluxDB answers and has the database; a password or token that would travel over plain
    http to another host is pointed out whatever the answer."""
    result = await _check_influx(settings)
    warning = settings.influx.plain_http_warning() if settings.influx.configured else None
    if warning:
        result.detail += f"; WARNING: {warning}"
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
        version = await reader.ping()
        databases = await reader.query("SHOW DATABASES", database="")
        names = {row[0] for series in databases for row in series.get("values") or []}
    except QueryError as exc:
        return CheckResult("influx", False, f"{influx.display_url} (API {influx.api}): {exc}")
    finally:
        await reader.close()
    target = reader.database
    if names and target not in names:
        return CheckResult(
            "influx", False,
            f"{influx.display_url}: InfluxDB {version} answers, but database {target!r} does "
            "not exist "
            "(`jullix-logger run` creates it when allowed)",
        )
    return CheckResult(
        "influx", True,
        f"{influx.display_url} (API {influx.api}): InfluxDB {version}, database {target!r}",
    )


async def check_p1(settings: Settings) -> CheckResult:
    """Connect to the P1 stream and wait for one valid telegram (CRC checked)."""
    from logger.sources.p1.probe import probe  # dsmr_parser only when P1 is on

    p1 = settings.p1
    ok, detail = await probe(p1.host, p1.port, settings.installation,
                             timeout=min(p1.idle_timeout, 30.0) + 2.0)
    return CheckResult("p1", ok, detail)


def check_outbox(settings: Settings) -> CheckResult:
    """An existing outbox is only read: `sudo jullix-logger check` next to the running service
    must not create files in its state directory that its own user could not open."""
    path = settings.outbox.path
    existing = path.exists()
    try:
        # A new outbox gets its configured bounds; an existing one is only read.
        outbox = Outbox(path, read_only=True) if existing else open_outbox(settings)
        depth = outbox.depth()
        outbox.close()
    except Exception as exc:  # any failure here is the answer we report
        return CheckResult("outbox", False, f"{path}: {exc}")
    state = "readable" if existing else "created"
    return CheckResult("outbox", True, f"{path}: {state}, {depth} points waiting")


async def check_mqtt(settings: Settings) -> CheckResult:
    """Connect, subscribe to a test topic, publish there and receive it back (the probe in
    logger/outputs/mqtt); a password sent unencrypted to another host is pointed out."""
    from logger.outputs.mqtt.discovery import slug  # the MQTT client only when [mqtt] is on
    from logger.outputs.mqtt.probe import probe

    mqtt = settings.mqtt
    ok, detail = await probe(mqtt, f"{mqtt.topic_prefix}/{slug(settings.installation)}")
    warning = mqtt.plain_text_warning()
    return CheckResult("mqtt", ok, detail + (f"; WARNING: {warning}" if warning else ""))


async def run_checks(settings: Settings) -> list[CheckResult]:
    """Every applicable check, in the order `check` prints them."""
    results = [check_outbox(settings)]
    if settings.local.enabled:
        results.append(await check_local(settings))
    if settings.p1.enabled:
        results.append(await check_p1(settings))
    results.append(await check_influx(settings))
    if settings.mqtt.active:
        results.append(await check_mqtt(settings))
    return results
