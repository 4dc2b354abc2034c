"""Gap detection in InfluxDB and repair from the Jullix cloud history.

What counts as a gap
--------------------
The local series is `power_flow` with `source='local'` (the view the cloud history can repair).
Two consecutive local points more than `threshold` seconds apart (default: three local poll
intervals) bound a gap, the open interval between them; InfluxDB finds them
(`logger.sink.gaps`: memory and rows grow with the number of gaps, not of points, so a year of
1 s data is fine on a Raspberry Pi). The edges of the window are gaps only when named: the time
before the first local point counts only with `--since` (a fresh install does not pull seven
days of cloud history by itself; ask for it), the time after the last local point only with
`--until` (a running logger's newest point is always "a while ago", and a stopped logger's
downtime becomes an interior gap, and is repaired, as soon as it logs again). No local point at
all in the window: no gap, unless `--since` was given, then the whole window is one. The local
gaps in which `meter` has no point either are counted too (the meter and `power_flow` come from
the same local poll, so `meter` needs no scan of its own), but the cloud has no meter registers,
so they are not repaired.

What gets written
-----------------
For each gap, the Belgian days that cover it are fetched (one call per history device and day,
see `logger/sources/cloud/history.py`) and only the cloud points strictly inside the gap are
written: `power_flow` with `source=cloud` at the samples' own timestamps. Identity (measurement,
tags, source timestamp) is stable, so an overlapping or repeated backfill overwrites, never
duplicates. A 404 for a solar/battery/charger history counts as "no such device" (0 W) only
when the local poller recorded that device type as absent (`known_absent`); otherwise the field
and `home_w` are left out.

Remembering what was repaired, and what failed
----------------------------------------------
`state` (a file next to the outbox) records a gap as fetched only when every day it covers gave
a grid history that was understood (and no other device failed); the points are in the outbox
by then. A fetched gap is skipped, so running backfill twice in a row writes nothing. Clouds
correct recent data, so a gap that was fetched less than `recheck_hours` after its end is
fetched once more on the first run at least `recheck_hours` after its end. A gap whose days
were unavailable, malformed or refused stays unrepaired and waits with backoff (`state`); the
scheduled job respects the wait, the command does not. Without a record (state file lost), a
gap whose cloud points already leave no hole longer than the threshold counts as repaired.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Collection
from datetime import UTC, date, datetime

from logger.app.backfill.report import BackfillReport, GapResult
from logger.app.backfill.state import STATE_FILE, BackfillState
from logger.config import Settings
from logger.core.logs import get_logger
from logger.core.point import Point
from logger.core.problems import Problems
from logger.sink.gaps import Gap, GapFinder, Series
from logger.sink.influxql import InfluxQL
from logger.sources.cloud.client import (
    CloudAuthError,
    CloudClient,
    CloudConfigError,
    CloudError,
    CloudUnavailable,
)
from logger.sources.cloud.history import DayHistory, fetch_day
from logger.sources.cloud.paths import day_history_paths
from logger.sources.cloud.realtime import resolve_installation

log = get_logger(__name__)

KEEP_DAYS = 400  # how long the state file remembers a gap (fetched or failing)

Emit = Callable[[list[Point]], Awaitable[None]]
Progress = Callable[[int, int, date, int], None]


def local_series(installation: str, source: str = "local") -> Series:
    return Series("power_flow", "grid_w", (("installation", installation), ("source", source)))


def meter_series(installation: str) -> Series:
    return Series("meter", "power_import_w", (("installation", installation),))


class Backfill:
    """One backfill run; `emit` takes the points (into the outbox, for the service and the CLI).

    `known_absent` gives the device types the local poller recorded as absent (asked at the
    start of every run); `respect_backoff` makes failing gaps wait their turn (the scheduled
    job), without it every gap is tried (the command).
    """

    def __init__(self, settings: Settings, ql: InfluxQL, client: CloudClient | None,
                 emit: Emit, problems: Problems, progress: Progress | None = None,
                 known_absent: Callable[[], Collection[str]] = frozenset,
                 respect_backoff: bool = False) -> None:
        self.settings = settings
        self.ql = ql
        self.client = client
        self.emit = emit
        self.problems = problems
        self.progress = progress
        self.known_absent = known_absent
        self.respect_backoff = respect_backoff
        self.installation_id: str | None = settings.cloud.installation_id
        self.state_path = settings.outbox.path.parent / STATE_FILE

    @property
    def threshold(self) -> float:
        b = self.settings.backfill
        return b.threshold if b.threshold is not None else 3 * self.settings.local.interval

    def state(self) -> BackfillState:
        return BackfillState(self.state_path, self.settings.installation,
                             retry_first=self.settings.backfill.interval)

    async def run(self, since: datetime | None = None, until: datetime | None = None,
                  dry_run: bool = False) -> BackfillReport:
        now = int(time.time())
        end = int(until.timestamp()) if until else now
        start = (int(since.timestamp()) if since
                 else end - int(self.settings.backfill.lookback_days * 86400))
        threshold = self.threshold
        report = BackfillReport(window=(start, end), threshold=threshold, dry_run=dry_run)
        finder = GapFinder(self.ql)
        try:
            gaps = await self._local_gaps(finder, report, since is not None, until is not None)
            state = self.state()
            recheck = int(self.settings.backfill.recheck_hours * 3600)
            for gap in gaps:
                result = GapResult(gap)
                waiting = state.waiting(gap, now)
                failure = state.failing.get(gap)
                if failure is not None:
                    result.failures, result.next_try = failure.failures, failure.next_try
                    result.reason = failure.reason
                if state.covers(gap, now, recheck):
                    result.status = "already repaired"
                elif waiting is not None and self.respect_backoff:
                    result.status = "waiting"
                elif await self._cloud_continuous(finder, gap, threshold):
                    result.status = "already repaired"
                report.gaps.append(result)
        finally:
            report.queries = finder.queries
        todo = [g for g in report.gaps if g.status == "to fetch"]
        report.days = sorted({d for g in todo for d in g.gap.days()})
        ident = self.installation_id or "{installation_id}"
        report.planned_calls = [p for d in report.days for p in day_history_paths(ident, d)]
        if not self.settings.cloud.installation_id and report.days:
            report.planned_calls.insert(0, "installation/all")
        if dry_run or not todo:
            return report
        if self.client is None:
            raise CloudConfigError("no cloud client configured")
        calls_before = self.client.calls
        try:
            await self._fetch(report, todo, state, now)
        finally:
            report.api_calls = self.client.calls - calls_before
            # Kept for a good year (and at least for this run's window): a `--since` run's
            # records must outlive the hourly job's shorter window.
            state.save(keep_after=min(start, now - KEEP_DAYS * 86400) - 86400)
        return report

    async def _local_gaps(self, finder: GapFinder, report: BackfillReport, leading: bool,
                          trailing: bool) -> list[Gap]:
        start, end = report.window
        inst = self.settings.installation
        found = await finder.scan(local_series(inst), start, end, report.threshold,
                                  before=start - 1 if leading else None,
                                  after=end if trailing else None)
        gaps = found.gaps
        if leading and found.first is None and not trailing and end - start + 1 > report.threshold:
            gaps = [Gap(start - 1, end)]  # no local point at all: the whole window
        meter = meter_series(inst)
        if gaps and await finder.has_point(meter, start, end):
            for gap in gaps:
                if not await finder.has_point(meter, gap.start + 1, gap.end):
                    report.meter_gaps += 1
        return gaps

    async def _cloud_continuous(self, finder: GapFinder, gap: Gap, threshold: float) -> bool:
        """Do cloud points already fill the gap (no hole longer than the threshold)?"""
        cloud = local_series(self.settings.installation, source="cloud")
        return not await finder.has_gap(cloud, gap.start + 1, gap.end, threshold,
                                        before=gap.start, after=gap.end)

    async def _fetch(self, report: BackfillReport, todo: list[GapResult], state: BackfillState,
                     now: int) -> None:
        assert self.client is not None
        incomplete: dict[date, str] = {}  # day -> why it must be fetched again
        no_samples: dict[date, str] = {}
        try:
            if self.installation_id is None:
                self.installation_id = await resolve_installation(
                    self.client, self.settings.cloud.installation_id)
            absent = frozenset(self.known_absent())
            by_day: dict[date, list[GapResult]] = {}
            for result in todo:
                for day in result.gap.days():
                    by_day.setdefault(day, []).append(result)
            for index, day in enumerate(report.days):
                history = await fetch_day(self.client, self.installation_id,
                                          self.settings.installation, day, self.problems,
                                          absent)
                report.days_fetched += 1
                if not history.complete:
                    incomplete[day] = history.problem or "incomplete answer"
                elif history.problem:
                    no_samples[day] = history.problem
                written = await self._emit_inside(history, by_day.get(day, []))
                report.points_written += written
                if self.progress is not None:
                    self.progress(index + 1, len(report.days), day, written)
        except CloudAuthError as exc:
            report.error = str(exc)
            for result in todo:
                result.status, result.reason = "remains", "cloud token invalid or revoked"
            raise
        except CloudError as exc:  # installation discovery
            report.error = str(exc)
            reason = f"cloud unavailable: {exc}" if isinstance(exc, CloudUnavailable) else str(exc)
            for result in todo:
                self._failed(result, state, now, reason)
            return
        for result in todo:
            days = result.gap.days()
            failure = next((incomplete[d] for d in days if d in incomplete), "")
            if failure:
                self._failed(result, state, now, failure)
                continue
            state.record(result.gap, now)
            if result.points:
                result.status, result.reason = "filled", ""
            else:
                problem = next((no_samples[d] for d in days if d in no_samples), "")
                result.status = "remains"
                result.reason = problem or "the cloud history has no samples inside it"

    async def _emit_inside(self, history: DayHistory, results: list[GapResult]) -> int:
        """Emit the day's points strictly inside each of the day's gaps; how many."""
        times = [p.time_s for p in history.points]
        written = 0
        for result in results:
            inside = history.points[result.gap.inside(times)]
            if inside:
                await self.emit(inside)
                result.points += len(inside)
                written += len(inside)
        return written

    def _failed(self, result: GapResult, state: BackfillState, now: int, reason: str) -> None:
        failure = state.failed(result.gap, now, reason)
        result.status, result.reason = "remains", reason
        result.failures, result.next_try = failure.failures, failure.next_try
        log.info("backfill: gap %s not repaired (%s); failure %d, next try after %s",
                 result.gap.describe(), reason, failure.failures,
                 datetime.fromtimestamp(failure.next_try, UTC).isoformat(timespec="seconds"))
