"""The service's jobs on its APScheduler 3.x scheduler: which run, how often, how they coalesce.

Every job is a coroutine on the service's loop (max_instances=1, coalesce: a run still going
makes the next one wait, never pile up). Their bodies and budgets live in `logger.app.service`
and the job modules; here only when they run.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from logger.app.scheduler_jobs import SchedulerJobs

LEDGER_FIRST_DELAY = 30.0  # the first ledger update after start: migrations and a flush first


def start_scheduler(service: Any) -> AsyncIOScheduler:
    """Add every job the service's settings ask for, and start the scheduler. `service` is
    a `logger.app.service.Service` (not imported: it imports this module)."""
    scheduler = AsyncIOScheduler(timezone=UTC)
    service.jobs = SchedulerJobs(scheduler)
    if service.local is not None:
        interval = service.settings.local.interval
        scheduler.add_job(
            service.poll_local, "interval", seconds=interval, id="local_poll",
            max_instances=1, coalesce=True, misfire_grace_time=max(1, int(interval)),
            next_run_time=datetime.now(UTC),
        )
    if service.p1 is not None:
        scheduler.add_job(
            service.p1.supervise, "interval", seconds=5.0, id="p1_supervisor",
            max_instances=1, coalesce=True, misfire_grace_time=5,
            next_run_time=datetime.now(UTC),
        )
    scheduler.add_job(
        service.commit, "interval", seconds=service.commit_tick,
        id="outbox_commit", max_instances=1, coalesce=True, misfire_grace_time=5,
    )
    if service.delivery is not None:
        scheduler.add_job(
            service.flush, "interval", seconds=1.0, id="outbox_flush",
            max_instances=1, coalesce=True, misfire_grace_time=5,
            next_run_time=datetime.now(UTC),
        )
    if service.cloud is not None:
        service.cloud.schedule(scheduler)
    if service.mqtt is not None:
        service.mqtt.schedule(scheduler)
    if service.settings.health.enabled and service.delivery is not None:
        scheduler.add_job(
            service.record_health, "interval", seconds=service.settings.health.interval,
            id="health_point", max_instances=1, coalesce=True, misfire_grace_time=5,
        )
    if service.ledger is not None:
        interval = service.settings.ledger.interval
        scheduler.add_job(
            service.update_ledger, "interval", seconds=interval, id="ledger_update",
            max_instances=1, coalesce=True, misfire_grace_time=int(interval),
            next_run_time=datetime.now(UTC) + timedelta(seconds=LEDGER_FIRST_DELAY),
        )
    service.costs.schedule(scheduler, LEDGER_FIRST_DELAY)  # prices and cost (cost_jobs.py)
    scheduler.start()
    return scheduler
