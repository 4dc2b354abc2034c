"""Gap detection in InfluxDB and repair from the Jullix cloud history.

What counts as a gap
--------------------
The local series is `power_flow` with `source='local'` (the view the cloud history can repair).
Its timestamps in the lookback window are read from InfluxDB (InfluxQL over `/query`, in
chunks); two consecutive local points more than `threshold` seconds apart (default: three local
poll intervals) bound a gap, the open interval between them. The edges of the window are gaps
only when named: the time before the first local point counts only with `--since` (a fresh
install does not pull seven days of cloud history by itself; ask for it), the time after the
last local point only with `--until` (a running logger's newest point is always "a while ago",
and a stopped logger's downtime becomes an interior gap, and is repaired, as soon as it logs
again). No local point at all in the window: no gap, unless `--since` was given, then the whole
window is one. `meter` gaps are counted and reported too, but the cloud has no meter registers,
so they are not repaired.

What gets written
-----------------
For each gap, the Belgian days that cover it are fetched (one call per history device and day,
see `logger/sources/cloud/history.py`) and only the cloud points strictly inside the gap are
written: `power_flow` with `source=cloud` at the samples' own timestamps. Identity (measurement,
tags, source timestamp) is stable, so an overlapping or repeated backfill overwrites, never
duplicates.

Remembering what was repaired
-----------------------------
Gap detection looks at the local series only, so a repaired gap still looks like a gap. A small
state file next to the outbox (`backfill-state.json`) records every fetched gap and when it was
fetched. A gap inside a recorded one is skipped, so running backfill twice in a row writes
nothing. Exception: clouds correct recent data, so a gap that was fetched less than
`recheck_hours` after its end is fetched once more on the first run at least `recheck_hours`
after its end. Without a record (state file lost), a gap whose cloud points already leave no
hole longer than the threshold counts as repaired.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Awaitable, Callable
from datetime import date, datetime

from logger.app.backfill.report import BackfillReport, GapResult
from logger.app.backfill.state import STATE_FILE, BackfillState
from logger.config import Settings
from logger.core.logs import get_logger
from logger.core.point import Point
from logger.core.problems import Problems
from logger.sink.gaps import Gap, find_gaps, series_times
from logger.sink.influxql import InfluxQL
from logger.sources.cloud.client import (
    CloudAuthError,
    CloudClient,
    CloudConfigError,
    CloudError,
    CloudUnavailable,
)
from logger.sources.cloud.history import fetch_day
from logger.sources.cloud.paths import day_history_paths
from logger.sources.cloud.realtime import resolve_installation

log = get_logger(__name__)

CHUNK_ROWS = 5000  # local points per query (InfluxDB 1.x may cap rows per answer)

Emit = Callable[[list[Point]], Awaitable[None]]
Progress = Callable[[int, int, date, int], None]


class Backfill:
    """One backfill run; `emit` takes the points (into the outbox, for the service and the CLI)."""

    def __init__(self, settings: Settings, ql: InfluxQL, client: CloudClient | None,
                 emit: Emit, problems: Problems, progress: Progress | None = None) -> None:
        self.settings = settings
        self.ql = ql
        self.client = client
        self.emit = emit
        self.problems = problems
        self.progress = progress
        self.installation_id: str | None = settings.cloud.installation_id
        self.state_path = settings.outbox.path.parent / STATE_FILE

    @property
    def threshold(self) -> float:
        b = self.settings.backfill
        return b.threshold if b.threshold is not None else 3 * self.settings.local.interval

    async def run(self, since: datetime | None = None, until: datetime | None = None,
                  dry_run: bool = False) -> BackfillReport:
        now = int(time.time())
        end = int(until.timestamp()) if until else now
        start = (int(since.timestamp()) if since
                 else end - int(self.settings.backfill.lookback_days * 86400))
        threshold = self.threshold
        report = BackfillReport(window=(start, end), threshold=threshold, dry_run=dry_run)
        inst = self.settings.installation
        chunk = max(3600, int(CHUNK_ROWS * self.settings.local.interval))
        local = await series_times(self.ql, "power_flow", "grid_w", inst, start, end, chunk,
                                   source="local")
        gaps = find_gaps(local, start, end, threshold, since is not None, until is not None)
        meter = await series_times(self.ql, "meter", "power_import_w", inst, start, end, chunk)
        if meter:
            report.meter_gaps = len(find_gaps(meter, start, end, threshold))
        state = BackfillState(self.state_path, inst)
        recheck = int(self.settings.backfill.recheck_hours * 3600)
        for gap in gaps:
            result = GapResult(gap)
            if state.covers(gap, now, recheck) or await self._cloud_continuous(gap, threshold):
                result.status = "already repaired"
            report.gaps.append(result)
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
            state.save(keep_after=now - int(2 * self.settings.backfill.lookback_days * 86400)
                       - 86400)
        return report

    async def _cloud_continuous(self, gap: Gap, threshold: float) -> bool:
        times = await series_times(self.ql, "power_flow", "grid_w", self.settings.installation,
                                   gap.start + 1, gap.end, max(3600, gap.seconds + 1),
                                   source="cloud")
        if not times:
            return False
        edges = [gap.start, *times, gap.end]
        return all(b - a <= threshold for a, b in itertools.pairwise(edges))

    async def _fetch(self, report: BackfillReport, todo: list[GapResult], state: BackfillState,
                     now: int) -> None:
        assert self.client is not None
        failed_days: dict[date, str] = {}
        day_problems: dict[date, str] = {}
        try:
            if self.installation_id is None:
                self.installation_id = await resolve_installation(
                    self.client, self.settings.cloud.installation_id)
            for index, day in enumerate(report.days):
                try:
                    history = await fetch_day(self.client, self.installation_id,
                                              self.settings.installation, day, self.problems)
                except CloudAuthError:
                    raise
                except CloudError as exc:
                    failed_days[day] = str(exc)
                    continue
                report.days_fetched += 1
                if history.problem:
                    day_problems[day] = history.problem
                written = 0
                for result in todo:
                    inside = [p for p in history.points if result.gap.contains(p.time_s)]
                    if inside:
                        await self.emit(inside)
                        result.points += len(inside)
                        written += len(inside)
                report.points_written += written
                if self.progress is not None:
                    self.progress(index + 1, len(report.days), day, written)
        except CloudAuthError as exc:
            report.error = str(exc)
            for result in todo:
                if not result.points:
                    result.status, result.reason = "remains", "cloud token invalid or revoked"
            raise
        except CloudError as exc:  # installation discovery
            report.error = str(exc)
            reason = f"cloud unavailable: {exc}" if isinstance(exc, CloudUnavailable) else str(exc)
            for result in todo:
                result.status, result.reason = "remains", reason
            return
        for result in todo:
            days = result.gap.days()
            failure = next((failed_days[d] for d in days if d in failed_days), "")
            if failure:
                result.status, result.reason = "remains", f"cloud unavailable: {failure}"
                continue
            state.record(result.gap, now)
            if result.points:
                result.status = "filled"
            else:
                problem = next((day_problems[d] for d in days if d in day_problems), "")
                result.status = "remains"
                result.reason = problem or "the cloud history has no samples inside it"
