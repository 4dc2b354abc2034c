"""The local poll as the service runs it: one poll of the box, its points into the outbox.

The source (`logger.sources.local`) returns points; here they are put into the outbox, together
with the facts `status` shows (each endpoint's state, the last sample) and the meter clocks,
which are restored at the next start so a repeated meter time is never written twice. The points
are not committed here: the service gives InfluxDB a moment to confirm them (then they never
touch the SD card) and commits those it has not (`Service.settle`, the durability promise in
README and docs/durability.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from datetime import UTC, datetime

from logger.app.alerts import DEVICE_TYPES, ClockSkew, DeviceTypes
from logger.app.receive_stamps import remember_stamp, stamp_from_meta
from logger.config import Settings
from logger.core.clock_trust import ClockTrust
from logger.core.logs import get_logger
from logger.core.point import Point
from logger.core.problems import Problems
from logger.outbox import Outbox, keys
from logger.sources.local.collector import LocalCollector, PollResult, Status
from logger.sources.values import as_device_list

log = get_logger(__name__)


class LocalJob:
    """Polls the box once per call and commits what it found."""

    def __init__(self, settings: Settings, outbox: Outbox, problems: Problems,
                 clock: ClockTrust | None = None) -> None:
        self.settings = settings
        self.outbox = outbox
        self.collector = LocalCollector(
            settings.local.url,
            settings.installation,
            settings.local.timeout,
            problems,
            last_meter_times=self._restore_meter_times(),
            clock=clock,
        )
        self.sequence = self.collector.stamper.sequence
        self.sequence.restore(stamp_from_meta(outbox, "local"))
        self.devices = DeviceTypes(outbox)  # warnings that matter, see logger/app/alerts.py
        self.skew = ClockSkew(outbox, "local")
        self.polls = 0
        self.task: asyncio.Task[object] | None = None  # the poll in flight, for shutdown
        self.tap: Callable[[list[Point]], None] | None = None  # side outputs (mqtt_job.py)

    def _restore_meter_times(self) -> dict[str, datetime]:
        return meter_times_from_meta(self.outbox.stats().meta)

    async def poll(self) -> list[str]:
        """One local poll; its points go into the outbox (memory first, see the module doc).
        Returns their identities, which the service settles (`Service.settle`)."""
        self.task = asyncio.current_task()
        try:
            result = await asyncio.wait_for(
                self.collector.poll(), self.settings.local.timeout + 2.0
            )
        except TimeoutError:
            log.warning("local poll took longer than its timeout; skipped")
            return []
        finally:
            self.task = None
        self.polls += 1
        self.outbox.put(result.points, source="local")
        if self.tap is not None:  # after the outbox: it has them first; memory only
            self.tap(result.points)
        now = datetime.now(UTC).isoformat(timespec="seconds")
        for name, endpoint in result.endpoints.items():
            self.outbox.set_meta(keys.local_endpoint_status(name), endpoint.status.value)
            if endpoint.status is Status.OK:
                self.outbox.set_meta(keys.last_sample(f"local.{name}"), now)
        remember_stamp(self.outbox, "local", self.sequence.last)
        self.outbox.set_meta(keys.LOCAL_METER_TIMES, json.dumps(
            {meter_id: moment.isoformat()
             for meter_id, moment in self.collector.last_meter_times.items()}))
        if result.meter_time is not None:
            self.outbox.set_meta(keys.LAST_SAMPLE_LOCAL_METER_TIME, result.meter_time.isoformat())
            self.skew.observe(result.meter_time, datetime.now(UTC))
        self._observe_device_types(result)
        return [point.identity for point in result.points]

    def _observe_device_types(self, result: PollResult) -> None:
        present, absent = [], []
        for name in DEVICE_TYPES:
            endpoint = result.endpoints.get(name)
            if endpoint is None or endpoint.status is Status.FAILED:
                continue
            devices = [] if endpoint.status is Status.ABSENT else as_device_list(endpoint.payload)
            if devices:
                present.append(name)
            elif devices is not None:
                absent.append(name)
        self.devices.observe(present, absent)

    async def close(self) -> None:
        await self.collector.close()


def meter_times_from_meta(meta: dict[str, str]) -> dict[str, datetime]:
    """Each meter clock's last reading as recorded in the outbox (one JSON key; the older
    one-key-per-meter form is still read). Unreadable values are ignored: the clock then
    starts afresh, which is what a first run does."""
    found: dict[str, str] = {
        key.removeprefix(keys.LOCAL_METER_TIME_PREFIX): value
        for key, value in meta.items() if key.startswith(keys.LOCAL_METER_TIME_PREFIX)
    }
    with contextlib.suppress(ValueError, TypeError):
        recorded = json.loads(meta.get(keys.LOCAL_METER_TIMES) or "{}")
        if isinstance(recorded, dict):
            found.update({str(k): v for k, v in recorded.items() if isinstance(v, str)})
    restored = {}
    for meter_id, value in found.items():
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            continue
        if moment.tzinfo is not None:
            restored[meter_id] = moment
    return restored

