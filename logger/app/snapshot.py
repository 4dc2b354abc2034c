"""One reading of the service's health: what `/metrics`, `/healthz` and `_jullix_health` show.

The numbers come from where `status` reads them (the outbox's counters, meta and tables) plus
the few facts only the running process knows (the health rule, the time since the last P1
telegram, the cloud client's request counts), so the endpoint and the dashboard can never tell a
different story from `status`. Taken on the event loop's thread, because the outbox belongs to
it; `take` is cheap (a handful of small SQLite reads).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from logger.app.alerts import active_warnings
from logger.app.health import degraded, health_problem, storage_problem
from logger.outbox import keys

P1_NOT_ERRORS = (keys.P1_TELEGRAMS, keys.P1_READER_RESTARTS)


@dataclass(frozen=True)
class Snapshot:
    """The service's health at `at` (epoch seconds). Counters are persistent totals."""

    at: float
    installation: str
    problem: str | None  # None = healthy (logger.app.health)
    outbox_depth: int
    outbox_oldest_age_s: float | None
    outbox_bytes: int
    outbox_max_bytes: int
    dead_letters: int  # rows in the dead-letter table, as `status` shows them
    counters: dict[str, int]
    meta: dict[str, str]
    influx_configured: bool
    sink_ready: bool
    p1_enabled: bool
    p1_last_telegram_age_s: float | None
    cloud_requests: int | None = None
    cloud_retries: int | None = None
    warnings: dict[str, str] = field(default_factory=dict)
    features_off: dict[str, str] = field(default_factory=dict)  # feature -> why it is off
    held: dict[str, int] = field(default_factory=dict)  # lines parked per target
    storage_problem: str | None = None  # why the outbox cannot commit to disk now
    mqtt_connected: bool | None = None  # None: [mqtt] off; counters: logger/app/mqtt_state.py

    # -- views over the counters (one rule each, shared by /metrics and _jullix_health) ----

    def accepted(self) -> dict[tuple[str, str], int]:
        """(source, measurement) -> points committed to the outbox."""
        out = {}
        for name, value in self.counters.items():
            if name.startswith(keys.ACCEPTED_PREFIX):
                source, _, measurement = name.removeprefix(keys.ACCEPTED_PREFIX).partition(".")
                out[(source, measurement)] = value
        return out

    def write_errors(self) -> dict[str, int]:
        return {name.removeprefix(keys.WRITE_ERRORS_PREFIX): value
                for name, value in self.counters.items()
                if name.startswith(keys.WRITE_ERRORS_PREFIX)}

    def p1_errors(self) -> dict[str, int]:
        """Damaged or skipped P1 input by kind (`crc_mismatch`, `truncated`, ...)."""
        return {name.removeprefix("p1_"): value for name, value in self.counters.items()
                if name.startswith("p1_") and name not in P1_NOT_ERRORS}

    def local_poll_errors(self) -> dict[str, int]:
        """Failed answers (timeout, 5xx, invalid JSON) per local endpoint."""
        return {name.removeprefix("local_").removesuffix("_failed"): value
                for name, value in self.counters.items()
                if name.startswith("local_") and name.endswith("_failed")}

    def cloud_errors(self) -> dict[str, int]:
        """Cloud problems by kind: failed realtime polls and backfill runs, odd answers."""
        return {name: value for name, value in self.counters.items()
                if name.startswith("cloud_") or name == "backfill_failed"}

    @property
    def p1_link_up(self) -> bool:
        return self.meta.get(keys.P1_STATE) == "connected"

    @property
    def backfill_gaps_open(self) -> int | None:
        value = self.meta.get(keys.BACKFILL_GAPS_OPEN)
        return int(value) if value and value.isdigit() else None

    @property
    def ledger_lag_s(self) -> float | None:
        """Seconds from the end of the newest complete period the ledger computed to `at`;
        None before the ledger computed any. It grows when the ledger job stalls or fails and
        when the meter's readings stop (no period can complete): what a stale-ledger alert
        wants. Points still waiting in the outbox are the outbox's own metrics."""
        value = self.meta.get(keys.LEDGER_NEWEST_END)
        if not value or not value.isdigit():
            return None
        return max(0.0, self.at - int(value))

    @property
    def last_write_at(self) -> float | None:
        value = self.meta.get(keys.LAST_WRITE_OK)
        try:
            return float(value) if value else None
        except ValueError:
            return None


def take(service: Any) -> Snapshot:
    """Read the health of a `logger.app.service.Service` (call on its event loop's thread)."""
    now = time.time()
    outbox = service.outbox
    stats = outbox.stats()
    oldest_age = outbox.oldest_age()  # committed or still in memory
    p1 = getattr(service, "p1", None)
    last_valid = getattr(p1, "last_valid_at", None)
    cloud = getattr(service, "cloud", None)
    client = getattr(cloud, "client", None)
    settings = service.settings
    mqtt = getattr(service, "mqtt", None)
    return Snapshot(
        at=now,
        installation=settings.installation,
        problem=health_problem(service),
        outbox_depth=stats.depth,
        outbox_oldest_age_s=oldest_age,
        outbox_bytes=stats.size_bytes,
        outbox_max_bytes=outbox.max_bytes,
        dead_letters=stats.dead_letters,
        counters=stats.counters,
        meta=stats.meta,
        influx_configured=settings.influx.configured,
        sink_ready=bool(getattr(service.sink, "ready", False)),
        p1_enabled=p1 is not None,
        p1_last_telegram_age_s=(None if last_valid is None
                                else time.monotonic() - last_valid),
        cloud_requests=getattr(client, "calls", None),
        cloud_retries=getattr(client, "retries", None),
        warnings=active_warnings(stats.meta),
        features_off=degraded(service),
        held=stats.held,
        storage_problem=storage_problem(service),
        mqtt_connected=None if mqtt is None else mqtt.publisher.status.connected,
    )
