"""Cloud work inside the service: realtime polling and the scheduled backfill.

Both share one `CloudClient`. A 401 stops both for good (until a restart with a new token), with
one clear log line; local and P1 logging go on.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from logger.app import facts
from logger.app.backfill.absent import absent_devices
from logger.app.backfill.report import record_failure, record_run
from logger.app.backfill.run import Backfill
from logger.app.receive_stamps import remember_stamp, stamp_from_meta
from logger.config import Settings
from logger.core.clock_trust import ClockTrust
from logger.core.logs import get_logger
from logger.core.point import Point, restamp
from logger.core.problems import Problems
from logger.core.receive_sequence import ReceiveSequence
from logger.outbox import Outbox, keys
from logger.sink.influxql import InfluxQL, QueryError
from logger.sources.cloud.client import CloudAuthError, CloudClient, CloudConfigError, CloudError
from logger.sources.cloud.realtime import CloudRealtime

log = get_logger(__name__)


class CloudJobs:
    """Cloud realtime polling and scheduled backfill inside `logger.app.service.Service`.

    Both share one `CloudClient`. A 401 stops both for good (until restart with a new token),
    with one clear log line; local and P1 logging are not affected.
    """

    def __init__(self, settings: Settings, client: CloudClient, put: Callable[..., Any],
                 problems: Problems, outbox: Outbox | None = None,
                 clock: ClockTrust | None = None) -> None:
        self.settings = settings
        self.clock = clock  # stamps realtime points (logger.core.clock_trust)
        self.stamps = ReceiveSequence("cloud realtime")  # never one second twice, across restarts
        if outbox is not None:
            self.stamps.restore(stamp_from_meta(outbox, "cloud"))
        self.client = client
        self.put = put  # `Outbox.put(points, source=...)`
        self.problems = problems
        self.outbox = outbox  # commits before a gap is recorded; absent devices; run outcomes
        self.stopped = False
        self.realtime: CloudRealtime | None = None
        if settings.cloud.realtime:
            self.realtime = CloudRealtime(client, settings.installation,
                                          settings.cloud.installation_id, problems)
            if settings.local.enabled:
                log.warning(
                    "[cloud] realtime and [local] are both enabled: power_flow gets a "
                    "source=cloud series next to source=local; group or filter by source "
                    "in queries, or switch cloud realtime off")
        self.backfill: Backfill | None = None
        self.ql: InfluxQL | None = None
        enabled = settings.backfill.enabled
        if enabled is None:
            enabled = settings.cloud.enabled
        if enabled and not settings.influx.configured:
            log.warning("backfill needs InfluxDB to find gaps ([influx] url is empty); off")
        elif enabled:
            self.ql = InfluxQL(settings.influx)
            self.backfill = Backfill(settings, self.ql, client, self._emit, problems,
                                     known_absent=self._known_absent, respect_backoff=True)
        self._scheduler: Any = None

    @classmethod
    def create(cls, settings: Settings, put: Callable[..., Any], problems: Problems,
               outbox: Outbox | None = None, clock: ClockTrust | None = None
               ) -> CloudJobs | None:
        """None when cloud work is off or cannot work (the reason is logged)."""
        if not settings.cloud.enabled:
            return None
        try:
            client = CloudClient(settings.cloud.url, settings.cloud.token,
                                 timeout=settings.cloud.timeout)
        except CloudConfigError as exc:
            log.error("cloud work off: %s", exc)
            return None
        return cls(settings, client, put, problems, outbox, clock)

    async def _emit(self, points: list[Point]) -> None:
        self.put(points, source="backfill")
        if self.outbox is not None:
            self.outbox.count(keys.BACKFILL_POINTS, len(points))
            self.outbox.commit()  # on disk before the backfill records the gap as fetched

    def _known_absent(self) -> frozenset[str]:
        return absent_devices(self.outbox) if self.outbox is not None else frozenset()

    def schedule(self, scheduler: Any) -> None:
        self._scheduler = scheduler
        now = datetime.now(UTC)
        if self.realtime is not None:
            interval = self.settings.cloud.interval
            scheduler.add_job(self.poll_realtime, "interval", seconds=interval,
                              id="cloud_realtime", max_instances=1, coalesce=True,
                              misfire_grace_time=int(interval), next_run_time=now)
        if self.backfill is not None:
            interval = self.settings.backfill.interval
            # The first run waits a little so the first local points after a restart are in
            # InfluxDB: the downtime is then an interior gap, and gets repaired.
            first = now + timedelta(seconds=min(60.0, interval))
            scheduler.add_job(self.run_backfill, "interval", seconds=interval, id="backfill",
                              max_instances=1, coalesce=True, misfire_grace_time=int(interval),
                              next_run_time=first)

    async def poll_realtime(self) -> None:
        if self.stopped or self.realtime is None:
            return
        budget = self.settings.cloud.timeout * self.client.max_attempts + 30
        mono, host = time.monotonic(), datetime.now(UTC)
        try:
            points = await asyncio.wait_for(self.realtime.poll(host), budget)
        except CloudAuthError as exc:
            self._stop(exc)
            return
        except (CloudError, TimeoutError) as exc:
            self.problems.report("cloud_realtime_failed", "cloud realtime poll failed: %s",
                                 exc or "timed out")
            facts.record_cloud(self.outbox, "failing", f"realtime poll: {exc or 'timed out'}")
            return
        facts.record_cloud(self.outbox, "ok", "realtime poll answered")
        if self.clock is not None:
            stamp = await self._receive_time(mono, host)
            if stamp is None:
                self.problems.report("cloud_realtime_unverified_time",
                                     "cloud realtime skipped: no meter time yet to check the "
                                     "host clock against")
                return
            points = restamp(points, self.stamps.next(stamp))
            if self.outbox is not None:
                remember_stamp(self.outbox, "cloud", self.stamps.last)
        self.put(points, source="cloud")

    async def _receive_time(self, mono: float, host: datetime) -> datetime | None:
        """The clock rule's time for a poll at `mono` (logger.core.clock_trust); right after a
        start the first meter reading may still be on its way: wait for it a little."""
        assert self.clock is not None
        for _ in range(20):
            stamp = self.clock.stamp(mono, host)
            if stamp is not None:
                return stamp
            await asyncio.sleep(0.5)
        return None

    async def run_backfill(self) -> None:
        if self.stopped or self.backfill is None:
            return
        budget = max(60.0, self.settings.backfill.interval * 0.9)
        try:
            report = await asyncio.wait_for(self.backfill.run(), budget)
        except CloudAuthError as exc:
            self._stop(exc)
            return
        except (CloudError, QueryError, TimeoutError) as exc:
            self.problems.report("backfill_failed", "backfill failed: %s", exc or "timed out")
            if self.outbox is not None:
                record_failure(self.outbox, str(exc) or "timed out")
            if isinstance(exc, CloudError):
                facts.record_cloud(self.outbox, "failing", f"backfill: {exc}")
            return
        if self.outbox is not None:
            record_run(self.outbox, report)
            if report.api_calls:
                facts.record_cloud(self.outbox, "ok", "backfill history answered")
        if report.points_written or report.remaining:
            for line in report.summary_lines():
                log.info("backfill: %s", line)

    def _stop(self, exc: Exception) -> None:
        if self.stopped:
            return
        self.stopped = True
        facts.record_cloud(self.outbox, "stopped", str(exc))
        if self.outbox is not None:
            self.outbox.commit(points=False)  # `status` says so now, not in 30 s
        log.error("%s; cloud work (realtime and backfill) stops now, local logging goes on",
                  exc)
        if self._scheduler is not None:
            for job_id in ("cloud_realtime", "backfill"):
                with contextlib.suppress(Exception):
                    self._scheduler.remove_job(job_id)

    async def close(self) -> None:
        await self.client.close()
        if self.ql is not None:
            await self.ql.close()
