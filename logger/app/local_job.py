"""The local poll as the service runs it: one poll of the box, its points into the outbox.

The source (`logger.sources.local`) returns points; here they are put into the outbox and
committed at the end of the job (a poll comes every few seconds, a WAL commit with
synchronous=NORMAL costs no fsync, and a crash then loses no finished poll), together with the
facts `status` shows (each endpoint's state, the last sample) and the meter clocks, which are
restored at the next start so a repeated meter time is never written twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
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
        return meter_times_from_meta(self.outbox.stats().meta)

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
        self.outbox.set_meta(keys.LOCAL_METER_TIMES, json.dumps(
            {meter_id: moment.isoformat()
             for meter_id, moment in self.collector.last_meter_times.items()}))
        if result.meter_time is not None:
            self.outbox.set_meta(keys.LAST_SAMPLE_LOCAL_METER_TIME, result.meter_time.isoformat())
        self.outbox.commit()

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
