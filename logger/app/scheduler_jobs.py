"""What the service's APScheduler 3.x jobs are doing, for the two things the library gets wrong.

Both are followed through the scheduler's public job events: which jobs run now, and when each
is next due on the monotonic clock.

- **A wall-clock step.** APScheduler computes run times on the wall clock but sleeps on the
  monotonic one: a step back of 40 minutes (a Pi without RTC) stalls every job for 40 minutes,
  and a step forward makes it run them at once. After a step, each job is rescheduled to when it
  is due on the monotonic clock (an interval after its last start, or its first run as planned),
  not to "now": a poll run a second after the previous one would see the same meter reading or
  take the same receive second.
- **A stop.** `shutdown()` cancels the coroutine jobs its executor started and has not seen end,
  and the executor logs each cancellation at ERROR with a traceback: a clean `systemctl stop`
  then reads like a crash in the journal (the fault suite caught one on a commit tick handed to
  the executor just before a stop). So every job is paused, the running ones get a moment to
  end, and only then is the scheduler shut down. What was still running (a cloud request, a
  ledger query) is cancelled and named in one INFO line; the executor's report of that
  cancellation is dropped. Only a `CancelledError` is dropped: nothing but this cancels a job.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

from apscheduler.events import (
    EVENT_JOB_ADDED,
    EVENT_JOB_ERROR,
    EVENT_JOB_EXECUTED,
    EVENT_JOB_SUBMITTED,
    JobEvent,
    JobExecutionEvent,
)
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from logger.core.logs import get_logger

log = get_logger(__name__)

JOBS_STOP_SECONDS = 3.0  # how long running jobs may take to end once a stop began
EXECUTOR_LOGGER = "apscheduler.executors.default"  # where the executor reports job errors
EVENTS = EVENT_JOB_ADDED | EVENT_JOB_SUBMITTED | EVENT_JOB_EXECUTED | EVENT_JOB_ERROR


def _not_a_cancellation(record: logging.LogRecord) -> bool:
    exc = record.exc_info[1] if record.exc_info else None
    return not isinstance(exc, asyncio.CancelledError)


class SchedulerJobs:
    """The jobs' running instances and monotonic due times; a step-proof reschedule; a stop."""

    def __init__(self, scheduler: AsyncIOScheduler) -> None:
        self.scheduler = scheduler
        self.running: Counter[str] = Counter()
        self.due: dict[str, float] = {}  # job id -> monotonic time of its next run
        scheduler.add_listener(self._on_event, EVENTS)
        executor_log = logging.getLogger(EXECUTOR_LOGGER)
        if _not_a_cancellation not in executor_log.filters:
            executor_log.addFilter(_not_a_cancellation)

    def _on_event(self, event: JobEvent) -> None:
        if isinstance(event, JobExecutionEvent):  # executed or raised: it ended
            self.running[event.job_id] -= 1
            if self.running[event.job_id] <= 0:
                del self.running[event.job_id]
        elif event.code == EVENT_JOB_SUBMITTED:
            self.running[event.job_id] += 1
            interval = self._interval(event.job_id)
            if interval is not None:
                self.due[event.job_id] = time.monotonic() + interval
        elif event.code == EVENT_JOB_ADDED:
            job = self.scheduler.get_job(event.job_id)
            if job is not None and job.next_run_time is not None:
                ahead = (job.next_run_time - datetime.now(UTC)).total_seconds()
                self.due[event.job_id] = time.monotonic() + max(0.0, ahead)

    def _interval(self, job_id: str) -> float | None:
        job = self.scheduler.get_job(job_id)
        interval = getattr(job.trigger, "interval", None) if job is not None else None
        return interval.total_seconds() if isinstance(interval, timedelta) else None

    def reschedule_after_step(self) -> None:
        """After a wall-clock step: every active job at its monotonic due time (now if due)."""
        now_wall, now_mono = datetime.now(UTC), time.monotonic()
        for job in self.scheduler.get_jobs():
            if job.next_run_time is None:  # paused (a stop began): stays paused
                continue
            wait = max(0.0, self.due.get(job.id, now_mono) - now_mono)
            job.modify(next_run_time=now_wall + timedelta(seconds=wait))

    async def stop(self, grace: float = JOBS_STOP_SECONDS) -> None:
        """Pause every job, wait up to `grace` seconds for the running ones, shut down."""
        for job in self.scheduler.get_jobs():
            job.pause()
        end = time.monotonic() + grace
        while self.running and time.monotonic() < end:
            await asyncio.sleep(0.02)
        if self.running:
            log.info("stopping: cancelled what was still running after %.1f s: %s", grace,
                     ", ".join(sorted(self.running)))
        self.scheduler.shutdown(wait=False)
        await asyncio.sleep(0)
