"""Keeping the cost ledger current: the service's job, and the one-shot build of `jullix-logger
cost`.

The job runs every `[ledger] interval`, two minutes after the ledger's own update (so the periods
that update wrote are in InfluxDB), over the days of the last `[ledger] recheck_days`: it costs
them afresh and writes the periods whose cost changed (`cost_build`): new quarters, quarters whose
energy or price arrived late, the running month. It needs `[[tariff]]`; without a contract for a
period, that period is simply not costed. A failure is logged, counted (`cost_update_failed`) and
kept for `status`; it touches nothing else.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from logger.app.cost_build import CostBuilder, CostReport
from logger.app.cost_keys import COST_FAILED, COST_LAST_ERROR, COST_LAST_RUN, COST_MISSING
from logger.app.ledger_job import make_reads
from logger.app.one_shot import Delivered, OneShot
from logger.config import Settings
from logger.core.belgian_time import brussels_day
from logger.core.logs import get_logger
from logger.core.point import Point
from logger.core.problems import Problems
from logger.ledger.periods import next_month
from logger.outbox import Outbox
from logger.sink.influxql import InfluxQL

log = get_logger(__name__)

# ISO time of the last update and what it did; why the last one failed ("" when it worked);
# quarters of the window without the price they need; the problem kind (a counter).
LAST_RUN, LAST_ERROR, MISSING, FAILED = COST_LAST_RUN, COST_LAST_ERROR, COST_MISSING, COST_FAILED
DELAY_AFTER_LEDGER = 120.0  # seconds after the ledger's update


class CostJob:
    """The service's cost job; owns its InfluxQL reader."""

    def __init__(self, settings: Settings, outbox: Outbox, problems: Problems) -> None:
        self.settings = settings
        self.outbox = outbox
        self.problems = problems
        self.ql = InfluxQL(settings.influx)
        self.reads = make_reads(settings, self.ql)
        self.runs = 0

    def _emit(self, points: list[Point]) -> None:
        self.outbox.put(points, source="cost")

    async def run(self, now: int | None = None) -> CostReport:
        now = int(time.time()) if now is None else now
        stamp = datetime.fromtimestamp(now, UTC).isoformat(timespec="seconds")
        first = brussels_day(now - int(self.settings.ledger.recheck_days * 86400))
        try:
            report = await CostBuilder(self.settings, self.reads, self._emit).run(
                first, brussels_day(now))
        except Exception as exc:
            self.problems.report(FAILED, "cost update failed: %s", exc)
            self.outbox.set_meta(LAST_ERROR, f"{stamp}: {exc}"[:300])
            self.outbox.commit()
            raise
        self.runs += 1
        self.outbox.set_meta(LAST_RUN, f"{stamp}: {report.quarters} quarter(s) costed, "
                             f"{report.points} period(s) written")
        self.outbox.set_meta(MISSING, str(report.missing))
        self.outbox.set_meta(LAST_ERROR, "")
        self.outbox.commit()
        if report.missing:
            log.info("cost: %d quarter-hour(s) of the last %g days have no day-ahead price "
                     "(`jullix-logger prices fetch` fills them in)", report.missing,
                     self.settings.ledger.recheck_days)
        return report

    async def close(self) -> None:
        await self.ql.close()


async def build_costs(settings: Settings, first: date, last: date, dry_run: bool = False,
                      progress: Callable[[date, CostReport], None] | None = None
                      ) -> tuple[CostReport, Delivered]:
    """`jullix-logger cost`: cost the days of [first, last], a month at a time, and deliver."""
    ql = InfluxQL(settings.influx)
    total = CostReport()
    try:
        async with OneShot(settings, dry_run) as out:
            builder = CostBuilder(settings, make_reads(settings, ql), out.put)
            month = first.replace(day=1)
            while month <= last:
                lo, hi = max(first, month), min(last, next_month(month) - timedelta(days=1))
                part = await builder.run(lo, hi)
                for name in ("quarters", "missing", "days", "months", "points"):
                    setattr(total, name, getattr(total, name) + getattr(part, name))
                for key, count in part.written.items():
                    total.written[key] = total.written.get(key, 0) + count
                await out.deliver()  # a month at a time: bounded outbox and memory
                if progress is not None:
                    progress(hi, total)
                month = next_month(month)
    finally:
        await ql.close()
    return total, out.result
