"""The long-running service: one asyncio loop, an APScheduler 3.x scheduler, clean shutdown.

The only place that knows sources, outbox and sink together. Jobs: the local poll (every `[local]
interval`, `local_job`), the P1 supervisor (`p1_job`), the cloud jobs (`cloud_jobs`), the energy
ledger (`ledger_job`, every `[ledger] interval`), the outbox commit (`commit_tick`: what InfluxDB
has not confirmed in time goes to disk, see `logger.outbox.store`), and the flush into InfluxDB
(every second, gated by the migration gate and the delivery's backoff, bounded by its budget).
Every job body has its own timeout because APScheduler 3.x has none, and a hung job would
silently stop being scheduled (max_instances=1 skips runs while one is still going).

Shutdown on SIGTERM/SIGINT: stop scheduling, let an in-flight poll finish (bounded), commit what
was accepted, give InfluxDB a few seconds to take what it will, close, exit 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import sqlite3
import time
from typing import TYPE_CHECKING, Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from logger.app import facts, snapshot
from logger.app.alerts import clear_stale
from logger.app.clock import make_clock_trust
from logger.app.cost_jobs import CostJobs
from logger.app.delivery import Delivery, DrainReport, open_outbox
from logger.app.features import Features
from logger.app.health_points import health_point
from logger.app.ledger_job import LedgerJob
from logger.app.ledger_target import LedgerTarget
from logger.app.local_job import LocalJob
from logger.app.mqtt_job import mqtt_output
from logger.app.schedule import start_scheduler
from logger.app.scheduler_jobs import SchedulerJobs
from logger.app.systemd import Supervisor
from logger.config import Settings
from logger.core.logs import get_logger
from logger.core.problems import Problems
from logger.core.urls import redact_url
from logger.core.words import plural
from logger.outbox import keys
from logger.outbox.store import COMMIT_AGE
from logger.sink.gate import SinkGate
from logger.sink.targets import RoutedWriter, ledger_influx, make_routed_writer

if TYPE_CHECKING:  # imported where used: dsmr_parser (P1) and the cloud client cost ~14 MB RSS
    from logger.app.cloud_jobs import CloudJobs
    from logger.app.http_endpoint import HttpEndpoint  # prometheus-client, see metrics.py
    from logger.app.p1_job import P1Job

log = get_logger(__name__)

SHUTDOWN_FLUSH_SECONDS = 5.0
SETTLE_WAIT = 1.0  # seconds a finished poll waits for InfluxDB before committing
FLUSH_BUDGET_FACTOR = 2.0  # one flush may take this many [influx] timeouts (at least 1 s)
CLOCK_JUMP_SECONDS = 2.0  # a wall-clock step at least this large reschedules every job
POLL_SPACING = 0.75  # of [local] interval: the least time between the starts of two polls


class Service:
    """Wires sources, outbox and sink together and owns their lifecycle."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.outbox = open_outbox(settings)
        self.problems = Problems(log, on_count=self.outbox.count)
        clear_stale(self.outbox)  # warnings of an earlier run (logger/app/alerts.py)
        self.features = Features(self.outbox)  # optional features off, and why (features.py)
        self.delivery: Delivery | None = None
        writer: RoutedWriter | None = None
        if settings.influx.configured:
            writer = make_routed_writer(settings)
            self.delivery = Delivery(self.outbox, writer, settings.influx.batch_size)
        # Which clock stamps points without a time of their own (logger/app/clock.py).
        self.clock = make_clock_trust(settings, self.outbox)
        self.local: LocalJob | None = None
        if settings.local.enabled:
            self.local = LocalJob(settings, self.outbox, self.problems, self.clock)
        # P1 stream: a long-lived reader task, (re)started by the `p1_supervisor` job.
        self.p1: P1Job | None = None
        if settings.p1.enabled:
            from logger.app.p1_job import P1Job

            self.p1 = P1Job(settings, self.outbox, self.clock, after_put=self.nudge_flush)
        # Cloud realtime and scheduled backfill; None when [cloud] is off.
        self.cloud: CloudJobs | None = None
        if settings.cloud.enabled:
            from logger.app.cloud_jobs import CloudJobs

            self.cloud = CloudJobs.create(settings, self.outbox.put, self.problems,
                                          outbox=self.outbox, clock=self.clock)
        # The energy ledger (logger/app/ledger_job.py): recomputed every [ledger] interval.
        self.ledger: LedgerJob | None = None
        if settings.ledger.enabled and settings.influx.configured:
            self.ledger = LedgerJob(settings, self.outbox, self.problems)
        self.mqtt = mqtt_output(settings, self)  # [mqtt] to Home Assistant (mqtt_job.py) or None
        self.costs = CostJobs.create(settings, self.outbox, self.problems, bool(self.ledger),
                                     self.ledger_writable)
        self.scheduler: AsyncIOScheduler | None = None
        self._last_poll_start = -math.inf  # monotonic
        self.jobs: SchedulerJobs | None = None  # set with the scheduler
        self._stopping = asyncio.Event()
        self.stop_signal: int | None = None  # SIGINT or SIGTERM when a signal stopped it
        self.left_in_outbox = 0  # points still in the outbox after the stop
        self._flush_task: asyncio.Task[Any] | None = None
        self._nudges: set[asyncio.Task[Any]] = set()
        # Writes wait until the InfluxDB migrations succeeded (logger/sink/gate.py); the systemd
        # watchdog reads the two monotonic timestamps below (logger/app/health.py).
        self.sink = SinkGate(settings.influx, ledger_influx(settings))
        # The ledger's own place in InfluxDB, an optional feature (logger/app/ledger_target.py).
        self.ledger_target = (None if writer is None
                              else LedgerTarget(self.sink, writer, self.outbox, self.features))
        self.flush_started_at: float | None = None
        self.last_commit_ok: float | None = None
        self.last_commit_attempt: float | None = None
        self._flush_error: type[BaseException] | None = None  # the last one logged
        self.systemd = Supervisor(self)
        # `[http] listen`: /metrics and /healthz (logger/app/http_endpoint.py); None when off.
        self.http: HttpEndpoint | None = None
        if settings.http.address is not None:
            from logger.app.http_endpoint import HttpEndpoint

            self.http = HttpEndpoint(self, *settings.http.address)

    # -- jobs -------------------------------------------------------------------------

    @property
    def polls(self) -> int:
        return self.local.polls if self.local is not None else 0

    async def poll_local(self) -> None:
        """One local poll (see `logger.app.local_job`); nothing new once stopping, and none
        sooner than `POLL_SPACING` intervals after the previous one: after a forward step of
        the wall clock APScheduler runs the job at once (its run times are wall-clock times),
        and a poll a second after the previous one reads the same meter reading again and
        crowds the receive seconds."""
        if self.local is None or self._stopping.is_set():
            return
        now = time.monotonic()
        if now - self._last_poll_start < POLL_SPACING * self.settings.local.interval:
            log.debug("local poll skipped: %.1f s after the previous one",
                      now - self._last_poll_start)
            return
        self._last_poll_start = now
        await self.settle(await self.local.poll())

    async def settle(self, identities: list[str]) -> None:
        """A finished poll's points are confirmed by InfluxDB or committed, never only in
        memory: a kill -9 after the poll loses none of its readings (docs/durability.md).
        InfluxDB gets a moment to confirm them first (`SETTLE_WAIT`, at most half a poll
        interval: a flush running already, then one that surely holds them), so while it is
        healthy they still never touch the SD card; what it has not confirmed is committed.
        Once stopping, the stop's final drain takes them (the commit job runs until it ends)."""
        if not identities or self._stopping.is_set():
            return
        deadline = time.monotonic() + min(SETTLE_WAIT, self.settings.local.interval / 2)
        for _ in range(2):
            if not self.outbox.unconfirmed(identities):
                break
            flush = self.nudge_flush()
            if flush is None:
                break
            done, _ = await asyncio.wait({flush}, timeout=max(0.0, deadline - time.monotonic()))
            if not done:
                break
        if self.outbox.unconfirmed(identities):
            self.outbox.commit(meta=False)

    def nudge_flush(self) -> asyncio.Task[Any] | None:
        """Points just arrived: deliver them now instead of at the next flush tick, so they
        wait milliseconds, not up to a second, unconfirmed in memory, where a kill -9 would
        take them along (docs/durability.md). In its own task, so a slow InfluxDB never holds
        up a poll; while a flush runs, that one takes them (and is returned); in backoff
        `drain` says no at once. None without InfluxDB or once stopping."""
        if self.delivery is None or self._stopping.is_set():
            return None
        if self._flush_task is not None:
            return self._flush_task
        task = asyncio.create_task(self.flush(), name="flush-nudge")
        self._nudges.add(task)  # a reference, until it is done
        task.add_done_callback(self._nudges.discard)
        return task

    @property
    def commit_tick(self) -> float:
        """Seconds between commit jobs: half the age at which points are committed (capped at
        1 s), so no unconfirmed point waits in memory past `commit_interval` (the promise)."""
        return min(1.0, COMMIT_AGE * self.settings.outbox.commit_interval / 2)

    async def commit(self) -> None:
        """A coroutine on purpose: APScheduler runs plain functions in a thread pool, and the
        outbox belongs to the event loop's thread. Without InfluxDB every point is due at once:
        the outbox is then the store, committed every tick. A commit that fails (disk full)
        was rolled back, counted and logged by the outbox; the next tick tries again, and
        `/healthz` says so meanwhile (logger/app/health.py)."""
        self.last_commit_attempt = time.monotonic()
        try:
            written = self.outbox.commit() if self.delivery is None else self.outbox.commit_due()
        except (sqlite3.Error, OSError):
            return
        self.last_commit_ok = time.monotonic()
        facts.heartbeat(self.outbox)  # what `status` reads to say the service runs
        if written:
            log.debug("committed %d points to the outbox", written)

    def ledger_writable(self) -> bool:
        """Whether ledger points (energy, cost) may be computed now: migrated, not stopping,
        and the ledger's place takes writes (logger/app/ledger_target.py)."""
        return (self.sink.ready and not self._stopping.is_set()
                and (self.ledger_target is None or self.ledger_target.problem is None))

    async def update_ledger(self) -> None:
        """One ledger update, once the migrations made its retention policy/bucket and while
        that place takes writes (logger/app/ledger_target.py: else the ledger is off)."""
        if self.ledger is None or not self.ledger_writable():
            return
        budget = self.settings.ledger.interval * 0.9
        try:
            await asyncio.wait_for(self.ledger.run(), budget)
        except TimeoutError:
            log.warning("ledger update took longer than %.0f s; the next one continues", budget)
        except Exception as exc:  # InfluxDB unreachable, a query refused: next interval
            log.warning("ledger update failed (%s); retrying in %.0f s", exc,
                        self.settings.ledger.interval)

    async def flush(self) -> None:
        """One drain, within its budget: the drain's deadline between requests, and
        `wait_for` around everything, so even a write that trickles forever ends here."""
        if self.delivery is None or self._stopping.is_set() or self._flush_task is not None:
            return  # one flush at a time: the running one takes the new points too
        budget = max(1.0, self.settings.influx.timeout * FLUSH_BUDGET_FACTOR)
        self._flush_task = asyncio.current_task()
        try:
            if not await self.sink.ensure():  # not migrated (yet): points stay in the outbox
                return
            if self.ledger_target is not None:
                self.ledger_target.tick()
            self.flush_started_at = time.monotonic()
            await asyncio.wait_for(self.delivery.drain(deadline=time.monotonic() + budget),
                                   budget + 1.0)
        except TimeoutError:
            log.warning("flush: InfluxDB took longer than the flush budget of %.0f s; what was "
                        "not confirmed stays queued", budget + 1.0)
        except Exception as exc:  # a bug or a failed commit: the next flush tries again
            self.outbox.count(keys.FLUSH_FAILED)
            if type(exc) is not self._flush_error:
                log.exception("flush failed (%s); what was not confirmed stays queued", exc)
                self._flush_error = type(exc)
        finally:
            self._flush_task = None
            self.flush_started_at = None

    async def record_health(self) -> None:
        """One `_jullix_health` point into the outbox (logger/app/health_points.py)."""
        point = health_point(snapshot.take(self))
        if point is not None:
            self.outbox.put([point], source="health")

    # -- lifecycle --------------------------------------------------------------------

    def describe_sink(self) -> None:
        """Say where points go. The migrations (logger/sink/gate.py) run in the first flush,
        not here: an unreachable InfluxDB at start-up never delays polling."""
        if not self.settings.influx.configured:
            log.info("no InfluxDB configured: points stay in the embedded outbox store at %s",
                     self.settings.outbox.path)

    async def _watch_wall_clock(self) -> None:
        """Reschedule every job when the system clock steps (NTP, a Pi without RTC): APScheduler
        3.x would stall them for as long as a step back, or run them at once after a step
        forward (logger/app/scheduler_jobs.py). Every second, the wall clock's progress is
        compared with the monotonic clock's."""
        wall, mono = time.time(), time.monotonic()
        while not self._stopping.is_set():
            await asyncio.sleep(1.0)
            new_wall, new_mono = time.time(), time.monotonic()
            jump = (new_wall - wall) - (new_mono - mono)
            wall, mono = new_wall, new_mono
            if abs(jump) >= CLOCK_JUMP_SECONDS and self.jobs is not None:
                log.warning("the system clock jumped %+.0f s; every job keeps its interval "
                            "as the monotonic clock counts it", jump)
                self.jobs.reschedule_after_step()

    def request_stop(self, sig: int | None = None) -> None:
        self.stop_signal = self.stop_signal or sig
        if not self._stopping.is_set():
            log.info("stopping: no new polls; flushing what InfluxDB will take")
            self._stopping.set()

    async def run(self, duration: float | None = None) -> None:
        """Run until SIGTERM/SIGINT (or for `duration` seconds), then shut down cleanly."""
        with facts.stop_signals(self.request_stop):
            await self._run(duration)

    async def _run(self, duration: float | None) -> None:
        facts.record_start(self.outbox)  # what `status` reads to say whether it runs
        self.systemd.ready()  # config valid, outbox open: READY=1 (Type=notify)
        self.systemd.start()  # STATUS= and WATCHDOG=1 pings, see logger/app/systemd.py
        self.describe_sink()
        self.scheduler = start_scheduler(self)
        if self.http is not None:
            self.http.start()
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

    async def _final_drain(self) -> DrainReport:
        """Give InfluxDB `SHUTDOWN_FLUSH_SECONDS` to take what it will, memory first (what it
        takes then never touches the disk), but only until the oldest waiting point is due:
        then everything left is committed, and the rest of the time drains the disk. Never
        into a database whose migrations did not all succeed; `wait_for` also bounds a write
        that trickles bytes forever (a wedged server), so a stop never hangs."""
        report = DrainReport()
        assert self.delivery is not None
        now = time.monotonic()
        end = now + SHUTDOWN_FLUSH_SECONDS
        due = COMMIT_AGE * self.settings.outbox.commit_interval
        first = min(end, now + max(0.0, due - (self.outbox.oldest_pending_age() or 0.0)))
        for deadline in (first, end):
            if self.sink.ready:
                with contextlib.suppress(TimeoutError):
                    part = await asyncio.wait_for(
                        self.delivery.drain(deadline=deadline, force=True),
                        max(0.0, deadline - time.monotonic()) + 1.0)
                    report.written += part.written
            self.outbox.commit()
        return report

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
            # let an in-flight poll finish so its points are not lost. The commit job keeps
            # running meanwhile: the durability promise holds during a stop too.
            for job in self.scheduler.get_jobs():
                if job.id != "outbox_commit":
                    job.pause()
            await self._finish(self.local.task if self.local else None,
                               self.settings.local.timeout + 2)
            await self._finish(self._flush_task, self.settings.influx.timeout + 1)
            assert self.jobs is not None
            await self.jobs.stop()  # the rest, commit included (scheduler_jobs.py)
        if self.p1 is not None:
            await self.p1.stop()
        if self.mqtt is not None:  # after the sources: their last values go out too
            await self.mqtt.stop()
        if self.delivery is not None:
            report = await self._final_drain()
            left = self.outbox.depth()
            if left:
                log.info("shutdown: %s written, %s stay in the outbox for the next start",
                         plural(report.written, "point"), plural(left, "point"))
            await self.delivery.writer.close()
        if self.local is not None:
            await self.local.close()
        if self.cloud is not None:
            await self.cloud.close()
        if self.http is not None:
            await self.http.stop()
        if self.ledger is not None:
            await self.ledger.close()
        await self.costs.close()
        self.left_in_outbox = self.outbox.depth()
        facts.record_stop(self.outbox)
        self.outbox.close()
        log.info("stopped")
