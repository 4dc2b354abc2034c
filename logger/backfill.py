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
see `logger/sources/cloud.py`) and only the cloud points strictly inside the gap are written:
`power_flow` with `source=cloud` at the samples' own timestamps. Identity (measurement, tags,
source timestamp) is stable, so an overlapping or repeated backfill overwrites, never duplicates.

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

import asyncio
import contextlib
import itertools
import json
import logging
import os
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from logger.cloud_client import (
    CloudAuthError,
    CloudClient,
    CloudConfigError,
    CloudError,
    CloudUnavailable,
)
from logger.config import Settings
from logger.influx import InfluxQL, QueryError
from logger.point import Point
from logger.problems import Problems
from logger.sources.cloud import (
    CloudRealtime,
    brussels_day,
    day_history_paths,
    fetch_day,
    resolve_installation,
)

log = logging.getLogger(__name__)

STATE_FILE = "backfill-state.json"
CHUNK_ROWS = 5000  # local points per query (InfluxDB 1.x may cap rows per answer)

Emit = Callable[[list[Point]], Awaitable[None]]
Progress = Callable[[int, int, date, int], None]


@dataclass(frozen=True, order=True)
class Gap:
    """No local point strictly between `start` and `end` (epoch seconds)."""

    start: int
    end: int

    @property
    def seconds(self) -> int:
        return self.end - self.start

    def contains(self, moment: int) -> bool:
        return self.start < moment < self.end

    def days(self) -> list[date]:
        first, last = brussels_day(self.start + 1), brussels_day(self.end - 1)
        return [first + timedelta(days=i) for i in range((last - first).days + 1)]

    def describe(self) -> str:
        def fmt(t: int) -> str:
            return datetime.fromtimestamp(t, UTC).astimezone().strftime("%Y-%m-%d %H:%M:%S%z")

        return f"{fmt(self.start)} .. {fmt(self.end)} ({_duration(self.seconds)})"


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds / 3600:.1f} h"


def find_gaps(times: Sequence[int], start: int, end: int, threshold: float,
              leading: bool = False, trailing: bool = False) -> list[Gap]:
    """Gaps of a sorted list of point times within [start, end) (see the module doc)."""
    inside = [t for t in times if start <= t < end]
    if not inside:
        return [Gap(start - 1, end)] if leading and end - start > threshold else []
    gaps = []
    if leading and inside[0] - start > threshold:
        gaps.append(Gap(start - 1, inside[0]))
    gaps.extend(Gap(a, b) for a, b in itertools.pairwise(inside) if b - a > threshold)
    if trailing and end - inside[-1] > threshold:
        gaps.append(Gap(inside[-1], end))
    return gaps


def _quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


async def series_times(ql: InfluxQL, measurement: str, field_name: str, installation: str,
                       start: int, end: int, chunk: int, source: str | None = None
                       ) -> list[int]:
    """Sorted epoch seconds of the points of one series in [start, end), queried in chunks."""
    where = f"installation = {_quote(installation)}"
    if source is not None:
        where += f" AND source = {_quote(source)}"
    times: list[int] = []
    lo = start
    while lo < end:
        hi = min(end, lo + chunk)
        statement = (f'SELECT "{field_name}" FROM "{measurement}" WHERE {where} '
                     f"AND time >= {lo}s AND time < {hi}s")
        for series in await ql.query(statement):
            if series.get("partial"):
                raise QueryError(f"InfluxDB truncated the answer for {measurement} "
                                 "(max-row-limit); lower the chunk size")
            times.extend(int(row[0]) for row in series.get("values") or [])
        lo = hi
    return sorted(set(times))


# -- state ------------------------------------------------------------------------------------


class BackfillState:
    """Which gaps were fetched, and when (a small JSON file, rewritten atomically)."""

    def __init__(self, path: Path, installation: str) -> None:
        self.path = path
        self.installation = installation
        self._all: dict[str, list[list[int]]] = {}
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(data, dict) and isinstance(data.get("installations"), dict):
                self._all = data["installations"]
        except FileNotFoundError:
            pass
        except (OSError, ValueError) as exc:
            log.warning("backfill state %s unreadable (%s); starting afresh", path, exc)
        self.records: list[list[int]] = [
            r for r in self._all.get(installation, [])
            if isinstance(r, list) and len(r) == 3 and all(isinstance(x, int) for x in r)
        ]

    def covers(self, gap: Gap, now: int, recheck: int) -> bool:
        """A record contains the gap and is not due for the recent-data recheck."""
        for start, end, fetched in self.records:
            if start <= gap.start and gap.end <= end:
                provisional = fetched < end + recheck
                if not (provisional and now >= end + recheck):
                    return True
        return False

    def record(self, gap: Gap, fetched_at: int) -> None:
        self.records = [r for r in self.records if not (gap.start <= r[0] and r[1] <= gap.end)]
        self.records.append([gap.start, gap.end, fetched_at])

    def save(self, keep_after: int) -> None:
        self.records = sorted(r for r in self.records if r[1] >= keep_after)
        self._all[self.installation] = self.records
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"version": 1, "installations": self._all}), encoding="utf-8")
        os.replace(tmp, self.path)


# -- the run ----------------------------------------------------------------------------------


@dataclass
class GapResult:
    gap: Gap
    status: str = "to fetch"  # "already repaired", "to fetch", "filled", "remains"
    points: int = 0
    reason: str = ""


@dataclass
class BackfillReport:
    window: tuple[int, int] = (0, 0)
    threshold: float = 0.0
    gaps: list[GapResult] = field(default_factory=list)
    meter_gaps: int = 0
    days: list[date] = field(default_factory=list)
    days_fetched: int = 0
    api_calls: int = 0
    planned_calls: list[str] = field(default_factory=list)
    points_written: int = 0
    dry_run: bool = False
    error: str = ""

    @property
    def remaining(self) -> list[GapResult]:
        return [g for g in self.gaps if g.status == "remains"]

    def summary_lines(self) -> list[str]:
        already = sum(1 for g in self.gaps if g.status == "already repaired")
        lines = [
            f"gaps found: {len(self.gaps)} in power_flow (source=local) longer than "
            f"{self.threshold:g} s ({already} already repaired earlier); meter gaps: "
            f"{self.meter_gaps} (not repairable: the cloud history has no meter registers)",
        ]
        if self.dry_run:
            lines.append(f"dry run: would fetch {len(self.days)} days with "
                         f"{len(self.planned_calls)} API calls; nothing written")
            lines += [f"  gap {g.gap.describe()}" for g in self.gaps if g.status == "to fetch"]
            lines += [f"  GET {path}" for path in self.planned_calls]
            return lines
        lines.append(f"days fetched: {self.days_fetched} of {len(self.days)}; API calls: "
                     f"{self.api_calls}; points written: {self.points_written}")
        lines.append(f"gaps that remain: {len(self.remaining)}")
        lines += [f"  {g.gap.describe()}: {g.reason}" for g in self.remaining]
        if self.error:
            lines.append(f"stopped: {self.error}")
        return lines


class Backfill:
    """One backfill run; `emit` takes the points (outbox in the service, writer in the CLI)."""

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


# -- the scheduled jobs inside the service ----------------------------------------------------


class CloudJobs:
    """Cloud realtime polling and scheduled backfill inside `logger.service.Service`.

    Both share one `CloudClient`. A 401 stops both for good (until restart with a new token),
    with one clear log line; local and P1 logging are not affected.
    """

    def __init__(self, settings: Settings, client: CloudClient, put: Callable[[list[Point]], Any],
                 problems: Problems) -> None:
        self.settings = settings
        self.client = client
        self.put = put
        self.problems = problems
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
            self.backfill = Backfill(settings, self.ql, client, self._emit, problems)
        self._scheduler: Any = None

    @classmethod
    def create(cls, settings: Settings, put: Callable[[list[Point]], Any],
               problems: Problems) -> CloudJobs | None:
        """None when cloud work is off or cannot work (the reason is logged)."""
        if not settings.cloud.enabled:
            return None
        try:
            client = CloudClient(settings.cloud.url, settings.cloud.token,
                                 timeout=settings.cloud.timeout)
        except CloudConfigError as exc:
            log.error("cloud work off: %s", exc)
            return None
        return cls(settings, client, put, problems)

    async def _emit(self, points: list[Point]) -> None:
        self.put(points)

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
        try:
            points = await asyncio.wait_for(self.realtime.poll(), budget)
        except CloudAuthError as exc:
            self._stop(exc)
            return
        except (CloudError, TimeoutError) as exc:
            self.problems.report("cloud_realtime_failed", "cloud realtime poll failed: %s",
                                 exc or "timed out")
            return
        self.put(points)

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
            return
        if report.points_written or report.remaining:
            for line in report.summary_lines():
                log.info("backfill: %s", line)

    def _stop(self, exc: Exception) -> None:
        if self.stopped:
            return
        self.stopped = True
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


# -- the commands ------------------------------------------------------------------------------


class WriteFailed(Exception):
    """InfluxDB did not take the backfilled points."""


def parse_bound(text: str, end: bool = False) -> datetime:
    """`YYYY-MM-DD` (a Belgian day: its start, or with `end` the start of the next day) or an
    ISO datetime (naive = Belgian local time)."""
    from logger.sources.cloud import BRUSSELS

    text = text.strip()
    if len(text) == 10:
        day = date.fromisoformat(text) + timedelta(days=1 if end else 0)
        return datetime(day.year, day.month, day.day, tzinfo=BRUSSELS)
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=BRUSSELS)


def _writer_emit(settings: Settings) -> tuple[Emit, Callable[[], Awaitable[None]]]:
    from logger.influx import Outcome, make_writer

    writer = make_writer(settings.influx)

    async def emit(points: list[Point]) -> None:
        lines = [p.to_line() for p in points]
        for i in range(0, len(lines), settings.influx.batch_size):
            batch = lines[i:i + settings.influx.batch_size]
            for attempt in range(4):
                result = await writer.write(batch)
                if result.outcome is Outcome.OK:
                    break
                if result.outcome is Outcome.REJECT or attempt == 3:
                    raise WriteFailed(f"InfluxDB did not take the points (HTTP {result.status}: "
                                      f"{result.message[:200]})")
                await asyncio.sleep(min(30.0, result.retry_after or 2.0 ** attempt))

    return emit, writer.close


def _progress_reporter(stream: Any) -> tuple[Progress, Callable[[], None]]:
    """A rich progress bar on a terminal, a log line every 10 s (and at the end) otherwise."""
    if stream.isatty():
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        bar = Progress(TextColumn("backfill {task.description}"), BarColumn(),
                       MofNCompleteColumn(), transient=True)
        task = bar.add_task("", total=None)
        bar.start()

        def on_day(done: int, total: int, day: date, points: int) -> None:
            bar.update(task, completed=done, total=total, description=day.isoformat())

        return on_day, bar.stop
    last = [0.0]

    def log_day(done: int, total: int, day: date, points: int) -> None:
        if time.monotonic() - last[0] >= 10.0 or done == total:
            last[0] = time.monotonic()
            log.info("backfill: %d of %d days fetched (%s: %d points)", done, total,
                     day.isoformat(), points)

    return log_day, lambda: None


async def backfill_command(settings: Settings, since: datetime | None, until: datetime | None,
                           dry_run: bool, out: Any) -> int:
    """`jullix-logger backfill`: 0 done (gaps may remain, see the summary), 1 failed."""
    import sys

    if not settings.influx.configured:
        print("backfill needs InfluxDB to find gaps: [influx] url is empty", file=out)
        return 1
    client = None
    if not dry_run:
        client = CloudClient(settings.cloud.url, settings.cloud.token,
                             timeout=settings.cloud.timeout)
    ql = InfluxQL(settings.influx)
    emit, close_writer = _writer_emit(settings)
    progress, stop_progress = _progress_reporter(sys.stderr)
    problems = Problems(log)
    backfill = Backfill(settings, ql, client, emit, problems, progress)
    code = 0
    report: BackfillReport | None = None
    try:
        report = await backfill.run(since, until, dry_run=dry_run)
    except CloudAuthError as exc:
        print(f"backfill stopped: {exc}", file=out)
        code = 1
    except (CloudError, QueryError, WriteFailed) as exc:
        print(f"backfill failed: {exc}", file=out)
        code = 1
    finally:
        stop_progress()
        await ql.close()
        await close_writer()
        if client is not None:
            await client.close()
    if report is not None:
        for line in report.summary_lines():
            print(line, file=out)
    return code


async def probe_command(settings: Settings, day: date, directory: Path, out: Any) -> int:
    """`jullix-logger cloud-probe`: save raw answers (token redacted) for one day."""
    from logger.sources.cloud import probe

    client = CloudClient(settings.cloud.url, settings.cloud.token,
                         timeout=settings.cloud.timeout)
    try:
        results = await probe(client, settings.cloud.installation_id, day, directory)
    except CloudError as exc:
        print(f"cloud-probe failed: {exc}", file=out)
        return 1
    finally:
        await client.close()
    for path, outcome in results:
        print(f"{path}: {outcome}", file=out)
    print(f"saved into {directory} (token redacted); please check the files before sharing "
          "them: they hold your installation's data", file=out)
    return 0
