"""What one backfill run found and did, and the summary lines the command and the job print."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from logger.core.belgian_time import local_time
from logger.core.words import plural
from logger.outbox import Outbox, keys
from logger.outbox.handoff import OutboxHandoff
from logger.sink.gaps import Gap


@dataclass
class GapResult:
    gap: Gap
    status: str = "to fetch"  # "already repaired", "to fetch", "waiting", "filled", "remains"
    points: int = 0
    reason: str = ""
    failures: int = 0  # fetches of this gap that did not complete, in a row
    next_try: int = 0  # epoch seconds; the scheduled job does not try it before

    def describe(self) -> str:
        text = self.gap.describe()
        if self.failures:
            text += f" [failed {self.failures}x, next try after {local_time(self.next_try)}]"
        return text


@dataclass
class BackfillReport:
    window: tuple[int, int] = (0, 0)
    threshold: float = 0.0
    gaps: list[GapResult] = field(default_factory=list)
    meter_gaps: int = 0
    queries: int = 0  # InfluxQL queries gap detection sent
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

    @property
    def waiting(self) -> list[GapResult]:
        return [g for g in self.gaps if g.status == "waiting"]

    def summary_lines(self) -> list[str]:
        already = sum(1 for g in self.gaps if g.status == "already repaired")
        lines = [
            f"gaps found: {len(self.gaps)} in power_flow (source=local) longer than "
            f"{self.threshold:g} s ({already} already repaired earlier); of them without "
            f"meter points too: {self.meter_gaps} (the cloud history has no meter registers); "
            f"InfluxDB queries: {self.queries}",
        ]
        if self.waiting:
            lines.append(f"gaps waiting after failed fetches: {len(self.waiting)}")
            lines += [f"  {g.describe()}: {g.reason}" for g in self.waiting]
        if self.dry_run:
            lines.append(f"dry run: would fetch {plural(len(self.days), 'day')} with "
                         f"{plural(len(self.planned_calls), 'API call')}; nothing written")
            lines += [f"  gap {g.describe()}" for g in self.gaps if g.status == "to fetch"]
            lines += [f"  GET {path}" for path in self.planned_calls]
            return lines
        lines.append(f"days fetched: {self.days_fetched} of {len(self.days)}; API calls: "
                     f"{self.api_calls}; points written: {self.points_written}")
        lines.append(f"gaps that remain: {len(self.remaining)}")
        lines += [f"  {g.describe()}: {g.reason}" for g in self.remaining]
        if self.error:
            lines.append(f"stopped: {self.error}")
        return lines

    def result_line(self) -> str:
        """What this run did, in one line (`status` shows the last one)."""
        filled = sum(1 for g in self.gaps if g.status == "filled")
        text = (f"{plural(len(self.gaps), 'gap')} found, {filled} filled "
                f"({plural(self.points_written, 'point')}), {len(self.remaining)} remain")
        if self.waiting:
            text += f", {len(self.waiting)} wait after failed fetches"
        return text + (f"; stopped: {self.error}" if self.error else "")


def record_run(outbox: Outbox | OutboxHandoff, report: BackfillReport) -> None:
    """What `status`, `/metrics` and `_jullix_health` show of backfill: gaps repaired (a
    counter), gaps left open by the last run, when it ran and what it did (meta). Committed
    with the next commit of `outbox`."""
    if report.dry_run:
        return
    filled = sum(1 for g in report.gaps if g.status == "filled")
    if filled:
        outbox.count(keys.BACKFILL_GAPS_REPAIRED, filled)
    outbox.set_meta(keys.BACKFILL_GAPS_OPEN, str(len(report.remaining)))
    _record(outbox, report.result_line())


def record_failure(outbox: Outbox, reason: str) -> None:
    """A run that failed before it had a report (InfluxDB or the cloud unreachable)."""
    _record(outbox, f"failed: {reason}")


def _record(outbox: Outbox, result: str) -> None:
    outbox.set_meta(keys.BACKFILL_LAST_RUN, datetime.now(UTC).isoformat(timespec="seconds"))
    outbox.set_meta(keys.BACKFILL_LAST_RESULT, result[:300])
