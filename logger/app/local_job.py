"""The local poll as the service runs it: one poll of the box, its points into the outbox.

The source (`logger.sources.local`) returns points; here they are put into the outbox and
committed at the end of the job (a poll comes every few seconds, a WAL commit with
synchronous=NORMAL costs no fsync, and a crash then loses no finished poll), together with the
facts `status` shows (each endpoint's state, the last sample) and the meter clocks, which are
restored at the next start so a repeated meter time is never written twice.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from logger.config import Settings
from logger.core.clock_trust import ClockTrust
from logger.core.logs import get_logger
from logger.core.problems import Problems
from logger.outbox import Outbox, keys
from logger.sources.local.collector import LocalCollector, Status

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
        self.polls = 0
        self.task: asyncio.Task[object] | None = None  # the poll in flight, for shutdown

    def _restore_meter_times(self) -> dict[str, datetime]:
        restored = {}
        for key, value in self.outbox.stats().meta.items():
            if key.startswith(keys.LOCAL_METER_TIME_PREFIX):
                try:
                    moment = datetime.fromisoformat(value)
                except ValueError:
                    continue
                restored[key.removeprefix(keys.LOCAL_METER_TIME_PREFIX)] = moment
        return restored

    async def poll(self) -> None:
        """One local poll; its points are committed to the outbox before the job ends."""
        self.task = asyncio.current_task()
        try:
            result = await asyncio.wait_for(
                self.collector.poll(), self.settings.local.timeout + 2.0
            )
        except TimeoutError:
            log.warning("local poll took longer than its timeout; skipped")
            return
        finally:
            self.task = None
        self.polls += 1
        self.outbox.put(result.points)
        now = datetime.now(UTC).isoformat(timespec="seconds")
        for name, endpoint in result.endpoints.items():
            self.outbox.set_meta(keys.local_endpoint_status(name), endpoint.status.value)
            if endpoint.status is Status.OK:
                self.outbox.set_meta(keys.last_sample(f"local.{name}"), now)
        for meter_id, moment in self.collector.last_meter_times.items():
            self.outbox.set_meta(keys.local_meter_time(meter_id), moment.isoformat())
        if result.meter_time is not None:
            self.outbox.set_meta(keys.LAST_SAMPLE_LOCAL_METER_TIME, result.meter_time.isoformat())
        self.outbox.commit()

    async def close(self) -> None:
        await self.collector.close()
