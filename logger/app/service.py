"""The long-running service: one asyncio loop, an APScheduler 3.x scheduler, clean shutdown.

The only place that knows sources, outbox and sink together. Jobs: the local poll (every `[local]
interval`, `local_job`), the P1 supervisor (`p1_job`), the cloud jobs (`cloud_jobs`), the outbox
commit (about once a second), and the flush into InfluxDB (every second, gated by the migration
gate and the delivery's backoff). Every job body has its own timeout because APScheduler 3.x has
none, and a hung job would silently stop being scheduled (max_instances=1 skips runs while one is
still going).

Shutdown on SIGTERM/SIGINT: stop scheduling, let an in-flight poll finish (bounded), commit what
was accepted, give InfluxDB a few seconds to take what it will, close, exit 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from logger.app.clock import make_clock_trust
from logger.app.delivery import Delivery, DrainReport
from logger.app.local_job import LocalJob
from logger.app.systemd import Supervisor
from logger.config import Settings
from logger.core.logs import get_logger
from logger.core.problems import Problems
from logger.core.urls import redact_url
from logger.outbox import Outbox
from logger.sink.gate import SinkGate
from logger.sink.writers import make_writer

if TYPE_CHECKING:  # imported where used: dsmr_parser (P1) and the cloud client cost ~14 MB RSS
    from logger.app.cloud_jobs import CloudJobs
    from logger.app.p1_job import P1Job

log = get_logger(__name__)

SHUTDOWN_FLUSH_SECONDS = 5.0
CLOCK_JUMP_SECONDS = 2.0  # a wall-clock step at least this large reschedules every job


class Service:
    """Wires sources, outbox and sink together and owns their lifecycle."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.outbox = Outbox(
            settings.outbox.path, settings.outbox.max_mb, settings.outbox.overflow
        )
        self.problems = Problems(log, on_count=self.outbox.count)
        self.delivery: Delivery | None = None
        if settings.influx.configured:
            self.delivery = Delivery(
                self.outbox, make_writer(settings.influx), settings.influx.batch_size
            )
        # Which clock stamps points without a time of their own (logger/app/clock.py).
        self.clock = make_clock_trust(settings, self.outbox)
        self.local: LocalJob | None = None
        if settings.local.enabled:
            self.local = LocalJob(settings, self.outbox, self.problems, self.clock)
        # P1 stream: a long-lived reader task, (re)started by the `p1_supervisor` job.
        self.p1: P1Job | None = None
        if settings.p1.enabled:
            from logger.app.p1_job import P1Job

            self.p1 = P1Job(settings, self.outbox, self.clock)
        # Cloud realtime and scheduled backfill; None when [cloud] is off.
        self.cloud: CloudJobs | None = None
        if settings.cloud.enabled:
            from logger.app.cloud_jobs import CloudJobs

            self.cloud = CloudJobs.create(settings, self.outbox.put, self.problems, self.clock)
        self.scheduler: AsyncIOScheduler | None = None
        self._stopping = asyncio.Event()
        self._flush_task: asyncio.Task[Any] | None = None
        # Writes wait until the InfluxDB migrations succeeded (logger/sink/gate.py); the systemd
        # watchdog reads the two monotonic timestamps below (logger/app/health.py).
        self.sink = SinkGate(settings.influx)
        self.flush_started_at: float | None = None
        self.last_commit_ok: float | None = None
        self.systemd = Supervisor(self)

    # -- jobs -------------------------------------------------------------------------

    @property
    def polls(self) -> int:
        return self.local.polls if self.local is not None else 0

    async def poll_local(self) -> None:
        """One local poll (see `logger.app.local_job`); nothing new once stopping."""
        if self.local is not None and not self._stopping.is_set():
            await self.local.poll()

    async def commit(self) -> None:
        """A coroutine on purpose: APScheduler runs plain functions in a thread pool, and the
        outbox belongs to the event loop's thread."""
        written = self.outbox.commit()
        self.last_commit_ok = time.monotonic()
        if written:
            log.debug("committed %d points to the outbox", written)

    async def flush(self) -> None:
        if self.delivery is None or self._stopping.is_set():
            return
        budget = max(1.0, self.settings.influx.timeout * 2)
        self._flush_task = asyncio.current_task()
        try:
            if not await self.sink.ensure():  # not migrated (yet): points stay in the outbox
                return
            self.flush_started_at = time.monotonic()
            await self.delivery.drain(deadline=time.monotonic() + budget)
        finally:
            self._flush_task = None
            self.flush_started_at = None

    # -- lifecycle --------------------------------------------------------------------

    def describe_sink(self) -> None:
        """Say where points go. The InfluxDB migrations (`[influx] auto_migrate`, see
        logger/sink/gate.py) run in the first flush, not here, so an unreachable InfluxDB at
        start-up never delays polling; nothing is written before they all succeeded.
        """
        if not self.settings.influx.configured:
            log.info("no InfluxDB configured: points stay in the embedded outbox store at %s",
                     self.settings.outbox.path)

    def _start_scheduler(self) -> AsyncIOScheduler:
        scheduler = AsyncIOScheduler(timezone=UTC)
        if self.local is not None:
            interval = self.settings.local.interval
            scheduler.add_job(
                self.poll_local, "interval", seconds=interval, id="local_poll",
                max_instances=1, coalesce=True, misfire_grace_time=max(1, int(interval)),
                next_run_time=datetime.now(UTC),
            )
        if self.p1 is not None:
            scheduler.add_job(
                self.p1.supervise, "interval", seconds=5.0, id="p1_supervisor",
                max_instances=1, coalesce=True, misfire_grace_time=5,
                next_run_time=datetime.now(UTC),
            )
        scheduler.add_job(
            self.commit, "interval", seconds=self.settings.outbox.commit_interval,
            id="outbox_commit", max_instances=1, coalesce=True, misfire_grace_time=5,
        )
        if self.delivery is not None:
            scheduler.add_job(
                self.flush, "interval", seconds=1.0, id="outbox_flush",
                max_instances=1, coalesce=True, misfire_grace_time=5,
                next_run_time=datetime.now(UTC),
            )
        if self.cloud is not None:
            self.cloud.schedule(scheduler)
        scheduler.start()
        return scheduler

    async def _watch_wall_clock(self) -> None:
        """Reschedule every job from now when the system clock steps (NTP, a Pi without RTC).

        APScheduler 3.x computes run times on the wall clock but sleeps on the monotonic one: a
        step back of an hour would stall polls, commits and flushes for that hour. Every second,
        the wall clock's progress is compared with the monotonic clock's.
        """
        wall, mono = time.time(), time.monotonic()
        while not self._stopping.is_set():
            await asyncio.sleep(1.0)
            new_wall, new_mono = time.time(), time.monotonic()
            jump = (new_wall - wall) - (new_mono - mono)
            wall, mono = new_wall, new_mono
            if abs(jump) >= CLOCK_JUMP_SECONDS and self.scheduler is not None:
                log.warning("the system clock jumped %+.0f s; rescheduling every job from now",
                            jump)
                now = datetime.now(UTC)
                for job in self.scheduler.get_jobs():
                    job.modify(next_run_time=now)

    def request_stop(self) -> None:
        if not self._stopping.is_set():
            log.info("stopping: no new polls; flushing what InfluxDB will take")
            self._stopping.set()

    async def run(self, duration: float | None = None) -> None:
        """Run until SIGTERM/SIGINT (or for `duration` seconds), then shut down cleanly."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):  # not the main thread
                loop.add_signal_handler(sig, self.request_stop)
        self.systemd.ready()  # config valid, outbox open: READY=1 (Type=notify)
        self.systemd.start()  # STATUS= and WATCHDOG=1 pings, see logger/app/systemd.py
        self.describe_sink()
        self.scheduler = self._start_scheduler()
        clock_watch = asyncio.create_task(self._watch_wall_clock(), name="clock-watch")
        log.info(
            "logging installation %r: local %s, InfluxDB %s",
            self.settings.installation,
            redact_url(self.settings.local.url) if self.local else "off",
            self.settings.influx.display_url or "none (embedded store)",
        )
        try:
            if duration is None:
                await self._stopping.wait()
            else:
                try:
                    await asyncio.wait_for(self._stopping.wait(), duration)
                except TimeoutError:
                    self._stopping.set()
        finally:
            clock_watch.cancel()
            await self.shutdown()

    @staticmethod
    async def _finish(task: asyncio.Task[Any] | None, timeout: float) -> None:
        """Wait (bounded) for an in-flight job instead of letting the scheduler cancel it."""
        if task is None or task.done():
            return
        with contextlib.suppress(TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(asyncio.shield(task), timeout)

    async def shutdown(self) -> None:
        self._stopping.set()
        await self.systemd.stop()  # STOPPING=1
        if self.scheduler is not None:
            # AsyncIOExecutor would cancel running coroutine jobs; stop scheduling first and
            # let an in-flight poll finish so its points are not lost.
            self.scheduler.pause()
            await self._finish(self.local.task if self.local else None,
                               self.settings.local.timeout + 2)
            await self._finish(self._flush_task, self.settings.influx.timeout + 1)
            self.scheduler.shutdown(wait=False)
            await asyncio.sleep(0)
        if self.p1 is not None:
            await self.p1.stop()
        self.outbox.commit()
        if self.delivery is not None:
            deadline = time.monotonic() + SHUTDOWN_FLUSH_SECONDS
            # Never into a database whose migrations did not all succeed.
            report = DrainReport()
            if self.sink.ready:
                # The deadline is checked between batches; wait_for also bounds a write that
                # trickles bytes forever (a wedged server), so a stop never hangs.
                with contextlib.suppress(TimeoutError):
                    report = await asyncio.wait_for(
                        self.delivery.drain(deadline=deadline, force=True),
                        SHUTDOWN_FLUSH_SECONDS + 2.0,
                    )
            left = self.outbox.depth()
            if left:
                log.info("shutdown: %d points wrote, %d stay in the outbox for next start",
                         report.written, left)
            await self.delivery.writer.close()
        if self.local is not None:
            await self.local.close()
        if self.cloud is not None:
            await self.cloud.close()
        self.outbox.close()
        log.info("stopped")
