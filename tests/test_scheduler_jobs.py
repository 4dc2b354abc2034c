"""The scheduler's jobs across a wall-clock step and a stop.

After a step each job keeps its interval as the monotonic clock counts it (not "run now": a poll
a second after the previous one sees the same reading). A stop lets running jobs end, cuts short
only what outlasts the grace, and prints no traceback: APScheduler 3.x's shutdown cancels the
coroutine jobs its executor has started, and the executor logs each cancellation as "Error
running job". The fault suite saw one at a clean stop: a commit tick handed to the executor just
before it. A real `AsyncIOScheduler` runs the jobs here; the wall-clock step itself is the fault
suite's (libfaketime, tests/faults/test_clock_jumps.py and test_clock_behind.py).
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from logger.app.scheduler_jobs import SchedulerJobs
from logger.app.service import Service
from logger.config import Settings
from logger.testbed.simulator import Simulator, SimulatorConfig


def run_then_stop(body, grace: float) -> None:
    """Run `body` as a scheduled job and stop the scheduler once it has begun."""
    async def scenario() -> None:
        began = asyncio.Event()

        async def job():
            began.set()
            await body()

        scheduler = AsyncIOScheduler(timezone=UTC)
        jobs = SchedulerJobs(scheduler)
        scheduler.add_job(job, "interval", seconds=60, id="the_job",
                          next_run_time=datetime.now(UTC))
        scheduler.start()
        await asyncio.wait_for(began.wait(), 10)
        await jobs.stop(grace)
        await asyncio.sleep(0.05)  # the executor's callbacks for what was cancelled

    asyncio.run(scenario())


def executor_errors(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records
            if r.name.startswith("apscheduler") and r.levelno >= logging.ERROR]


def test_a_job_that_is_running_when_the_stop_begins_runs_to_its_end(caplog):
    caplog.set_level(logging.INFO)
    ended = []

    async def commit_tick():
        await asyncio.sleep(0.2)
        ended.append(True)

    run_then_stop(commit_tick, grace=3.0)
    assert ended == [True]
    assert executor_errors(caplog) == []
    assert "cancelled what was still running" not in caplog.text


def test_a_job_that_outlasts_the_grace_is_cancelled_named_once_and_not_reported_as_an_error(
        caplog):
    caplog.set_level(logging.INFO)
    seen = []

    async def cloud_request():
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            seen.append("cancelled")
            raise

    run_then_stop(cloud_request, grace=0.2)
    assert seen == ["cancelled"]
    assert executor_errors(caplog) == []
    assert caplog.text.count("cancelled what was still running after 0.2 s: the_job") == 1


def test_a_job_that_fails_for_real_is_still_reported(caplog):
    async def broken():
        raise RuntimeError("a real bug")

    run_then_stop(broken, grace=1.0)
    errors = executor_errors(caplog)
    assert len(errors) == 1 and "a real bug" in str(errors[0].exc_info[1])


def test_after_a_clock_step_each_job_is_due_an_interval_after_its_last_start_not_at_once():
    async def scenario():
        scheduler = AsyncIOScheduler(timezone=UTC)
        jobs = SchedulerJobs(scheduler)
        runs: list[float] = []

        async def poll():
            runs.append(time.monotonic())

        async def ledger():
            pass

        now = datetime.now(UTC)
        scheduler.add_job(poll, "interval", seconds=5, id="poll", next_run_time=now)
        scheduler.add_job(ledger, "interval", seconds=900, id="ledger",
                          next_run_time=now + timedelta(seconds=30))
        scheduler.add_job(ledger, "interval", seconds=60, id="paused", next_run_time=now)
        scheduler.get_job("paused").pause()
        added = time.monotonic()
        scheduler.start()
        await asyncio.sleep(0.5)
        jobs.reschedule_after_step()
        measured = time.monotonic()
        ahead = {job.id: (job.next_run_time - datetime.now(UTC)).total_seconds()
                 if job.next_run_time else None for job in scheduler.get_jobs()}
        await jobs.stop()
        return runs, ahead, added, measured

    runs, ahead, added, measured = asyncio.run(scenario())
    assert len(runs) == 1
    # The poll is due 5 s after it started; the ledger's first run 30 s after it was added.
    assert abs(ahead["poll"] - (runs[0] + 5 - measured)) < 0.1, (ahead, runs, measured)
    assert abs(ahead["ledger"] - (added + 30 - measured)) < 0.1, (ahead, added, measured)
    assert ahead["paused"] is None


def test_a_poll_sooner_than_three_quarters_of_an_interval_after_the_previous_is_skipped(
        tmp_path):
    """APScheduler runs a job at once after a forward wall-clock step; the service's poll job
    lets no two polls start less than 0.75 x `[local] interval` apart."""
    async def scenario() -> int:
        async with Simulator(SimulatorConfig(seed=4)) as sim:
            settings = Settings(installation="home", local={"url": sim.local_url,
                                                             "interval": 2.0},
                                outbox={"path": str(tmp_path / "outbox.sqlite")})
            service = Service(settings)
            try:
                await service.poll_local()
                await service.poll_local()  # right after the first: skipped
                await asyncio.sleep(1.6)
                await service.poll_local()  # more than 1.5 s after the first: polls
            finally:
                await service.shutdown()
            return sum(sim.local_api.request_counts.values())

    requests = asyncio.run(scenario())
    assert requests == 2 * 5, requests  # two polls of the five endpoints
