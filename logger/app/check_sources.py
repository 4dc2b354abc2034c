"""`check` of the sources: the box's local API, its P1 stream and the Jullix cloud.

Each says what it read (the meter's registers and power, so a user can hold them against the
meter's display) and, when something fails, what the failure most likely means: a name that
does not resolve, a port where nothing listens, a URL that is not a Jullix box, a token the
cloud refuses.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from logger.config import Settings
from logger.core.belgian_time import local_time, parse_compact
from logger.core.logs import get_logger
from logger.core.problems import Problems
from logger.core.urls import redact_url
from logger.sources.local.collector import (
    ENDPOINTS,
    REFUSED,
    UNKNOWN_HOST,
    EndpointResult,
    LocalCollector,
    Status,
)
from logger.sources.local.parse import meter_fields
from logger.sources.values import unwrap

P1_CHECK_SECONDS = 30.0


@dataclass
class CheckResult:
    name: str
    ok: bool
    detail: str
    notes: list[str] = field(default_factory=list)  # more lines: values read, hints


def describe_registers(fields: dict[str, Any]) -> str:
    """`import 1234.567 kWh (day 800.000, night 434.567), export ..., power +1200 W`."""
    parts = []
    for what in ("import", "export"):
        t1, t2 = fields.get(f"energy_{what}_t1_kwh"), fields.get(f"energy_{what}_t2_kwh")
        if t1 is not None or t2 is not None:
            total = (t1 or 0.0) + (t2 or 0.0)
            parts.append(f"{what} {total:.3f} kWh (day {t1 or 0.0:.3f}, night {t2 or 0.0:.3f})")
    imported, exported = fields.get("power_import_w"), fields.get("power_export_w")
    if imported is not None or exported is not None:
        net = (imported or 0.0) - (exported or 0.0)
        parts.append(f"power now {net:+.0f} W ({'importing' if net >= 0 else 'exporting'})")
    return ", ".join(parts) or "no registers in the answer"


def _local_hint(settings: Settings, meter: EndpointResult, results: list[EndpointResult]
                ) -> str | None:
    url = redact_url(settings.local.url)
    if meter.error.startswith(UNKNOWN_HOST):
        return (f"hint: the name in {url} does not resolve here; `jullix.local` needs mDNS "
                "(avahi-daemon); the box's IP address (see your router) always works")
    if meter.error.startswith(REFUSED):
        return (f"hint: that host answers, but nothing listens on the port of {url}: the box's "
                "local API is plain http on port 80 (http://<address>)")
    if all(r.status is Status.ABSENT for r in results):
        return (f"hint: {url} answers, but has no /api/ems/* at all: is it the Jullix box? "
                "(give its address only, e.g. http://192.168.1.50)")
    return None


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
    errors = {r.error for r in results}
    if all(r.status is Status.FAILED for r in results) and len(errors) == 1:
        parts.append(f"every endpoint FAILED ({meter.error})")
        results_shown: list[EndpointResult] = []
    else:
        results_shown = results
    for result in results_shown:
        if result.status is Status.OK:
            parts.append(f"{result.name} ok")
        elif result.status is Status.ABSENT:
            parts.append(f"{result.name} absent")
        else:
            parts.append(f"{result.name} FAILED ({result.error})")
    ok = meter.status is Status.OK and all(r.status is not Status.FAILED for r in results)
    check = CheckResult("local", ok, f"{redact_url(settings.local.url)}: " + ", ".join(parts))
    if meter.status is Status.OK:
        check.notes.append(_meter_values(meter.payload))
    else:
        hint = _local_hint(settings, meter, results)
        if hint:
            check.notes.append(hint)
    return check


def _meter_values(payload: Any) -> str:
    meter = unwrap(payload)
    if isinstance(meter, list):
        meter = meter[0] if meter and isinstance(meter[0], dict) else None
    if not isinstance(meter, dict):
        return "meter: not a meter object"
    try:
        when = parse_compact(str(meter.get("time"))).strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        when = f"time {meter.get('time')!r} unreadable"
    return f"meter {meter.get('meter', '?')} at {when} (its clock): " + describe_registers(
        meter_fields(meter))


def p1_wait(settings: Settings) -> str:
    p1 = settings.p1
    return (f"waiting up to {_p1_timeout(settings):g} s for a valid P1 telegram from "
            f"{p1.host}:{p1.port} (the meter sends one a second) ...")


def _p1_timeout(settings: Settings) -> float:
    return min(settings.p1.idle_timeout, P1_CHECK_SECONDS) + 2.0


async def check_p1(settings: Settings) -> CheckResult:
    """Connect to the P1 stream and wait for one valid telegram (CRC checked)."""
    from logger.sources.p1.probe import probe  # dsmr_parser only when P1 is on

    p1 = settings.p1
    ok, detail, reading = await probe(p1.host, p1.port, settings.installation,
                                      timeout=_p1_timeout(settings))
    check = CheckResult("p1", ok, detail)
    if reading is not None and reading.point is not None:
        check.notes.append(f"meter {reading.meter_id} at {local_time(reading.time)}: "
                           + describe_registers(dict(reading.point.fields)))
    return check


async def check_cloud(settings: Settings) -> CheckResult:
    """The token, with one cheap authenticated call (the installations it may read)."""
    from logger.sources.cloud.client import CloudClient, CloudError
    from logger.sources.cloud.realtime import installation_ids

    cloud = settings.cloud
    try:
        client = CloudClient(cloud.url, cloud.token, timeout=min(cloud.timeout, 15.0),
                             max_attempts=2, backoff=0.5)
    except CloudError as exc:
        return CheckResult("cloud", False, str(exc))
    try:
        answer = await client.get("installation/all")
    except CloudError as exc:
        return CheckResult("cloud", False, f"{client.url}: {exc}")
    finally:
        await client.close()
    found = installation_ids(answer)
    detail = f"{client.url}: token accepted; installations: {', '.join(found) or 'none'}"
    if cloud.installation_id and cloud.installation_id not in found:
        return CheckResult("cloud", False, f"{detail}; [cloud] installation_id "
                           f"{cloud.installation_id!r} is not among them")
    if not found:
        return CheckResult("cloud", False, f"{detail}: this token sees no installation")
    return CheckResult("cloud", True, detail)
