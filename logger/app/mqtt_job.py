"""`[mqtt]` as the service runs it: the sources' points, tapped, to Home Assistant.

The local and P1 jobs hand every batch of points to `tap` right after putting it into the
outbox (logger/app/local_job.py, p1_job.py): the outbox always has them first, and `tap` only
maps them to entity values and queues them in memory (logger/outputs/mqtt/queue.py); the
publisher's own task talks to the broker. So a slow or absent broker never holds up a poll, the
outbox or the InfluxDB writer, and a fault in the mapping is counted and logged, never raised
into a poll. The logger's own entities (health, outbox depth, last write) are sampled by the
publisher when it sends them. Every few seconds the output's state goes into the outbox's meta
and counters (logger/app/mqtt_state.py), where `status`, /metrics and `_jullix_health` read it.

The cost engine's hook: `add_values(provider)`, a callable returning logger-device values by
key (`cost_today_eur`, `cost_month_eur`: entities already specified in
logger/outputs/mqtt/entities.py as `monetary`, EUR, `total`), sampled with the other gauges.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from logger.app import mqtt_state, snapshot
from logger.config import Settings
from logger.core.belgian_time import month_start
from logger.core.logs import get_logger
from logger.core.point import Point
from logger.core.problems import Problems
from logger.core.version import __version__
from logger.ledger.tariff import billed, month_peak

if TYPE_CHECKING:  # the MQTT client is imported only when [mqtt] is on (MqttJob.__init__)
    from logger.outputs.mqtt.publisher import Publisher

log = get_logger(__name__)

RECORD_SECONDS = 5.0  # how often the output's state goes into the outbox meta
TAP_FAILED = "mqtt_tap_failed"  # problem kind: points the mapping could not take
Provider = Callable[[], dict[str, float]]


def mqtt_output(settings: Settings, service: Any) -> MqttJob | None:
    """The service's MQTT output, or None when `[mqtt]` is off (nothing MQTT is imported)."""
    return MqttJob(settings, service) if settings.mqtt.active else None


class MqttJob:
    """Taps the sources' points and runs the publisher for the service."""

    def __init__(self, settings: Settings, service: Any) -> None:
        from logger.outputs.mqtt.discovery import Naming
        from logger.outputs.mqtt.mapping import meter_measurements
        from logger.outputs.mqtt.publisher import Publisher

        mqtt = settings.mqtt
        self.settings = settings
        self.service = service
        self.outbox = service.outbox
        self.problems = Problems(log, on_count=self.outbox.count)
        self.naming = Naming(settings.installation, mqtt.topic_prefix, mqtt.discovery_prefix)
        self.meter_from = meter_measurements(settings.p1.enabled)
        self.publisher: Publisher = Publisher(mqtt, self.naming, __version__, self.gauges)
        self.providers: list[Provider] = []
        self.peaks: dict[int, float] = {}  # p1_peak: month start -> the meter's peak, W
        self._month = (0, 0, 0)  # the month `mean_12m` last saw: start, end, 11 months before
        self._mean: tuple[object, float] = (None, 0.0)  # its inputs and the mean
        self.task: asyncio.Task[None] | None = None
        self._recorded = dict.fromkeys(mqtt_state.COUNTERS, 0)
        self._state = ""
        for job in (service.local, service.p1):  # the tap, see the module doc
            if job is not None:
                job.tap = self.tap

    # -- the tap (on a poll's path: memory only) -----------------------------------------

    def tap(self, points: list[Point]) -> None:
        from logger.outputs.mqtt.mapping import Value, values

        try:
            for point in points:  # a telegram's peak history first: the mean needs it
                if point.measurement == "p1_peak":
                    demand = point.field_dict.get("demand_w")
                    if demand is not None:
                        self.peaks[point.time_s] = demand
            for point in points:
                for value in values(point, self.meter_from):
                    self.publisher.offer(value)
                    if value.key == "captar_month_max_w" and point.measurement == "p1":
                        self.publisher.offer(Value(value.device, "captar_mean_12m_w",
                                                   self.mean_12m(value.value, value.at),
                                                   value.at))
        except Exception as exc:  # a mapping bug must never reach the poll that called us
            self.problems.report(TAP_FAILED, "MQTT: points not handed to the publisher "
                                 "(%s: %s); InfluxDB gets them as always",
                                 type(exc).__name__, exc)

    def mean_12m(self, month_max_w: float, at: int) -> float:
        """The capacity tariff's 12-month mean (logger.ledger.tariff): this month's peak so
        far and the meter's own peaks (`98.1.0`) of the 11 months before it. Computed again
        only when the month, its peak or the history changed (once a second it rarely does)."""
        if not self._month[0] <= at < self._month[1]:
            current = month_start(at)
            oldest = current
            for _ in range(11):
                oldest = month_start(oldest - 1)
            self._month = (current, month_start(current + 32 * 86400), oldest)
        key = (self._month[0], month_max_w, tuple(sorted(self.peaks.items())))
        if key != self._mean[0]:
            current, _, oldest = self._month
            earlier = {start: billed(w) for start, w in self.peaks.items()
                       if oldest <= start < current}
            self._mean = (key, month_peak(current, month_max_w, None, earlier, None,
                                          False).mean_12m_w)
        return self._mean[1]

    # -- the logger device's values ------------------------------------------------------

    def add_values(self, provider: Provider) -> None:
        """More logger-device values (the cost engine's today/month cost), see module doc."""
        self.providers.append(provider)

    def gauges(self) -> dict[str, float]:
        snap = snapshot.take(self.service)
        values = {"status": 0.0 if snap.problem else 1.0,
                  "outbox_depth": float(snap.outbox_depth),
                  "dead_letters": float(snap.dead_letters)}
        if snap.influx_configured and snap.last_write_at is not None:
            values["last_write_age_s"] = max(0.0, snap.at - snap.last_write_at)
        for provider in self.providers:
            try:
                values.update(provider())
            except Exception as exc:
                self.problems.report(TAP_FAILED, "MQTT: a value provider failed (%s)", exc)
        return values

    # -- lifecycle ---------------------------------------------------------------------

    def schedule(self, scheduler: Any) -> None:
        self.task = asyncio.create_task(self.publisher.run(), name="mqtt-publisher")
        scheduler.add_job(self.record, "interval", seconds=RECORD_SECONDS, id="mqtt_record",
                          max_instances=1, coalesce=True, misfire_grace_time=5)

    async def record(self) -> None:
        """The output's state into the outbox meta and counters (a coroutine: the outbox
        belongs to the event loop's thread)."""
        status, counts = self.publisher.status, self.publisher.queue.counts
        state = "connected" if status.connected else "disconnected"
        if self.task is None or self.task.done():
            state = "stopped"
        if state != self._state:
            self._state = state
            self.outbox.set_meta(mqtt_state.STATE, state)
            self.outbox.set_meta(mqtt_state.STATE_SINCE,
                                 datetime.now(UTC).isoformat(timespec="seconds"))
        self.outbox.set_meta(mqtt_state.BROKER, self.settings.mqtt.display_url)
        self.outbox.set_meta(mqtt_state.LAST_ERROR, status.last_error)
        self.outbox.set_meta(mqtt_state.WAITING, str(len(self.publisher.queue.waiting)))
        totals = {mqtt_state.SENT: status.sent, mqtt_state.DROPPED: counts.dropped,
                  mqtt_state.RECONNECTS: status.reconnects, mqtt_state.OFFERED: counts.offered,
                  mqtt_state.UNCONFIRMED: counts.unconfirmed}
        for name, total in totals.items():
            if total > self._recorded[name]:
                self.outbox.count(name, total - self._recorded[name])
                self._recorded[name] = total

    async def stop(self) -> None:
        """After the sources stopped: what waits goes out (bounded), then `offline`."""
        started = time.monotonic()
        await self.publisher.stop(self.task)
        await self.record()
        log.debug("MQTT: stopped in %.1f s", time.monotonic() - started)

