"""Keeping the ledger current: the service's job, and the one-shot build the `ledger` command runs.

Every `[ledger] interval` the job recomputes today (as far as readings reach) and every day of the
last `[ledger] recheck_days` that late data touched: an hour whose raw register readings (or cloud
profile points) in InfluxDB no longer number what the ledger's `readings` (`profile_points`) field
says it was computed from. That catches whatever wrote late, whoever wrote it: the outbox
draining after an outage, a restart, `jullix-logger backfill` in another process. A recomputed
period has the same identity, so it overwrites. Points go into the outbox like every other point.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime

from logger.app.delivery import Delivery, deliver_all, open_outbox
from logger.app.ledger_build import BuildReport, LedgerBuilder
from logger.config import Settings
from logger.core import fluvius_schema
from logger.core.belgian_time import brussels_day, day_bounds
from logger.core.logs import get_logger
from logger.core.point import Point
from logger.core.problems import Problems
from logger.ledger.periods import DAY, HOUR, days_between
from logger.ledger.points import ENERGY
from logger.ledger.sources import CLOUD_PROFILE_TAGS, GRID_METER, GRID_P1, PROFILE_MEASUREMENT
from logger.outbox import Outbox, keys
from logger.outbox.handoff import OutboxHandoff
from logger.outbox.lock import OutboxBusy
from logger.sink.gate import SinkGate
from logger.sink.influxql import InfluxQL
from logger.sink.ledger_reads import LedgerReads
from logger.sink.targets import LEDGER_TARGET, ledger_from, ledger_influx, make_routed_writer

log = get_logger(__name__)

GRID_FIELD = "energy_import_t1_kwh"
DELIVERY_TIMEOUT = 600.0


def note_newest(outbox: Outbox, report: BuildReport) -> None:
    """Remember the end of the newest complete period computed (`ledger_lag_s` in /metrics and
    `_jullix_health`, `status`): never moves back, so a rebuild of old history leaves it."""
    if report.newest_end is None:
        return
    stored = outbox.get_meta(keys.LEDGER_NEWEST_END)
    if stored is None or not stored.isdigit() or int(stored) < report.newest_end:
        outbox.set_meta(keys.LEDGER_NEWEST_END, str(report.newest_end))


def make_reads(settings: Settings, ql: InfluxQL) -> LedgerReads:
    return LedgerReads(ql, settings.installation, ledger_from(settings),
                       int(settings.ledger.page_hours * 3600))


async def dirty_days(reads: LedgerReads, settings: Settings, now: int
                     ) -> tuple[list[date], dict[date, int]]:
    """The days to recompute: each day of the recheck window with an hour late data changed or
    never computed, or whose day row is missing though its hours exist; and today, which is
    otherwise only continued from its last complete hour (returned as {today: that hour})."""
    start = day_bounds(brussels_day(now - int(settings.ledger.recheck_days * 86400)))[0]
    source = settings.ledger.source
    p1 = {} if source == "meter" else await reads.counts(GRID_P1.measurement, GRID_FIELD,
                                                          start, now, 3600)
    meter = {} if source == "p1" else await reads.counts(GRID_METER.measurement, GRID_FIELD,
                                                          start, now, 3600)
    cloud = await reads.counts(PROFILE_MEASUREMENT, "grid_w", start, now, 3600,
                               tags=CLOUD_PROFILE_TAGS)
    stored = {r.time: r.values for r in await reads.ledger_rows(
        ENERGY, ("readings", "profile_points"), start, now, {"period": HOUR})}
    stored_days = {r.time for r in await reads.ledger_rows(
        ENERGY, ("readings",), start, now, {"period": DAY})}
    with_data = [h for h in (*p1, *meter)]
    first, last = min(with_data, default=now), max(with_data, default=start)
    today = brussels_day(now)
    today_start = day_bounds(today)[0]
    done_today = [h for h in stored if h >= today_start]
    today_since = max(done_today) + 3600 if done_today else today_start
    dirty: set[date] = set()
    for hour in range(start, now - now % 3600 + 1, 3600):
        if hour >= today_since:
            break  # the running part of today: continued below
        if hour not in stored:
            # Never computed: it should be once readings lie on both sides of it (a day of an
            # outage, between the last reading before and the first after).
            if first < hour < last:
                dirty.add(brussels_day(hour))
            continue
        readings, profile = (int(v or 0) for v in stored[hour])
        # The hour was computed from one source (`[ledger] source`, per day for `auto`):
        # changed when its count matches neither source's count now.
        if readings not in (p1.get(hour, 0), meter.get(hour, 0)) or (
                profile != cloud.get(hour, 0)):
            dirty.add(brussels_day(hour))
    for day in {brussels_day(h) for h in stored}:
        bounds = day_bounds(day)
        if day != today and bounds[0] >= start and bounds[0] not in stored_days and (
                bounds[1] <= last):
            dirty.add(day)  # its hours are there but the day was not completed
    partial: dict[date, int] = {}
    if today not in dirty and today_since > today_start:
        partial[today] = today_since
    dirty.add(today)
    return sorted(d for d in dirty if day_bounds(d)[0] >= start), partial


@dataclass
class JobResult:
    days: list[date]
    report: BuildReport
    partial: dict[date, int]  # days continued from an hour (today), not recomputed whole


class LedgerJob:
    """The service's job; owns its InfluxQL reader."""

    def __init__(self, settings: Settings, outbox: Outbox, problems: Problems) -> None:
        self.settings = settings
        self.outbox = outbox
        self.ql = InfluxQL(settings.influx)
        self.reads = make_reads(settings, self.ql)
        self.problems = problems
        self.builder = LedgerBuilder(settings, self.reads, self._emit, problems,
                                     outbox.set_meta)
        self.runs = 0

    def _emit(self, points: list[Point]) -> None:
        self.outbox.put(points)

    async def run(self, now: int | None = None) -> JobResult:
        """One update: find the days to recompute, recompute them and their months."""
        now = int(time.time()) if now is None else now
        stamp = datetime.fromtimestamp(now, UTC).isoformat()
        try:
            days, partial = await dirty_days(self.reads, self.settings, now)
            self.builder.clear()  # months from what InfluxDB holds now, not an earlier run
            report = await self.builder.run(days, partial=partial, until=now + 1)
        except Exception as exc:
            self.outbox.set_meta(keys.LEDGER_LAST_ERROR, f"{stamp}: {exc}"[:300])
            self.outbox.commit()
            raise
        self.runs += 1
        note_newest(self.outbox, report)
        self.outbox.set_meta(keys.LEDGER_LAST_RUN, f"{stamp}: {len(days)} day(s), "
                             f"{report.points} points")
        self.outbox.set_meta(keys.LEDGER_LAST_ERROR, "")
        self.outbox.commit()
        log.debug("ledger: recomputed %s (%d points)", ", ".join(map(str, days)), report.points)
        return JobResult(days, report, partial)

    async def close(self) -> None:
        await self.ql.close()


class LedgerBuildError(Exception):
    """The build could not start; the text says why."""


@dataclass
class BuildResult:
    report: BuildReport
    days: int
    delivered: int = 0
    left: int = 0
    handed_to: int | None = None  # the running service's pid, when the points went to it


async def first_reading(reads: LedgerReads, settings: Settings, until: int) -> int | None:
    """The oldest electricity register reading, or imported Fluvius quarter-hour when that is
    older (where a build for "all history" starts)."""
    found = []
    for spec in (GRID_P1, GRID_METER):
        rows = await reads.nearest(spec.measurement, [GRID_FIELD], 0, before=False,
                                   horizons=(until,))
        found += [r.time for r in rows]
    if settings.fluvius.enabled:
        oldest = await reads.ledger_first(fluvius_schema.MEASUREMENT, fluvius_schema.ENERGY_STATUS,
                                          until)
        found += [] if oldest is None else [oldest]
    return min(found, default=None)


async def build_history(settings: Settings, since: datetime | None, until: datetime | None,
                        dry_run: bool, progress: Callable[[int, int, date, int], None] | None
                        = None) -> BuildResult:
    """`jullix-logger ledger`: compute the days of [since, until) and deliver the points."""
    ql = InfluxQL(settings.influx)
    reads = make_reads(settings, ql)
    end = int((until or datetime.now(UTC)).timestamp())
    outbox: Outbox | None = None
    handoff: OutboxHandoff | None = None
    busy: OutboxBusy | None = None
    if not dry_run:
        try:
            outbox = open_outbox(settings)  # [outbox] bounds: opening prunes by them
        except OutboxBusy as exc:  # the service drains it: hand the points over instead
            busy, handoff = exc, OutboxHandoff(settings.outbox.path)
    problems = Problems(log, on_count=outbox.count if outbox else None)
    gate = SinkGate(settings.influx, ledger_influx(settings))
    try:
        if outbox is not None and not await gate.ensure():
            raise LedgerBuildError(f"InfluxDB is not ready ({gate.state}); nothing was built")
        if outbox is not None and LEDGER_TARGET in gate.feature_problems:
            raise LedgerBuildError(f"the ledger is off: {gate.feature_problems[LEDGER_TARGET]}; "
                                   "nothing was built")
        start = int(since.timestamp()) if since else await first_reading(reads, settings, end)
        days = [] if start is None else days_between(start, end)
        if until is None and days:
            days = [d for d in days if d <= brussels_day(end)]

        def emit(points: list[Point]) -> None:
            if outbox is not None:
                outbox.put(points)
                outbox.commit()  # one day at a time: bounded memory, durable progress
            elif handoff is not None:
                handoff.put(points)

        note = outbox.set_meta if outbox is not None else None
        builder = LedgerBuilder(settings, reads, emit, problems, note)
        report = await builder.run(days, progress)
        result = BuildResult(report, len(days))
        if handoff is not None and busy is not None:
            result.delivered, result.handed_to = handoff.handed, busy.pid or 0
        if outbox is not None:
            note_newest(outbox, report)
            outbox.commit()
            delivery = Delivery(outbox, make_routed_writer(settings), settings.influx.batch_size)
            try:
                drained = await deliver_all(outbox, gate, delivery, DELIVERY_TIMEOUT)
            finally:
                await delivery.writer.close()
            result.delivered, result.left = drained.written, outbox.depth()
        return result
    finally:
        await ql.close()
        if outbox is not None:
            outbox.close()
        if handoff is not None:
            handoff.close()
