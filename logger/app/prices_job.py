"""The service's day-ahead price job: tomorrow's prices once they are published, and any day of
the last `[ledger] recheck_days` whose prices InfluxDB lacks (the service was off, a fetch
failed), so the cost job can price every recent quarter.

It looks every minute, but asks the platform only when something is missing and due: tomorrow
from `[prices] publish_time` (Brussels time, default 13:00) on, then every `[prices] interval`
while the platform answers "no matching data" (not published yet: no error); after a failure
(401, 429, 5xx, no answer) with the backoff (`logger.core.backoff`, 1 minute doubling to an
hour, a `Retry-After` honoured), counted (`prices_fetch_failed`) and logged once per kind. A
refused token stops the asking until the service restarts (no retry can fix it). The prices go
into the outbox like every other point; the job can never hold up raw logging.
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta

from logger.app.cost_keys import PRICES_FAILED, PRICES_LAST_ERROR, PRICES_LAST_FETCH, PRICES_NEWEST
from logger.config import Settings
from logger.core.backoff import Backoff
from logger.core.belgian_time import BRUSSELS, brussels_day, day_bounds
from logger.core.logs import get_logger
from logger.core.problems import Problems
from logger.outbox import Outbox
from logger.sink.influxql import InfluxQL
from logger.sink.ledger_reads import LedgerReads
from logger.sink.targets import ledger_from
from logger.sources.prices.client import EntsoeClient, PricesAuthError, PricesError
from logger.sources.prices.points import MEASUREMENT, price_points

log = get_logger(__name__)

# ISO time and what the last fetch brought; why the last attempt failed ("" when it worked);
# epoch s of the end of the newest price the job wrote; the problem kind (a counter).
LAST_FETCH, LAST_ERROR, NEWEST = PRICES_LAST_FETCH, PRICES_LAST_ERROR, PRICES_NEWEST
FAILED = PRICES_FAILED


class PricesJob:
    """Owns its client and reader; `run()` is the scheduled body."""

    def __init__(self, settings: Settings, outbox: Outbox, problems: Problems,
                 client: EntsoeClient | None = None) -> None:
        self.settings = settings
        self.outbox = outbox
        self.problems = problems
        p = settings.prices
        self.client = client or EntsoeClient(p.url, p.token, p.zone, timeout=p.timeout)
        self.ql = InfluxQL(settings.influx)
        self.reads = LedgerReads(self.ql, settings.installation, ledger_from(settings))
        self.backoff = Backoff(initial=60.0, maximum=3600.0)
        self.next_try = 0.0  # monotonic: no request before
        self.have: set[date] = set()  # days this process already wrote completely
        self.refused = False

    def wanted(self, now: int) -> list[date]:
        """The days whose prices should be in InfluxDB at `now`."""
        today = brussels_day(now)
        local = datetime.fromtimestamp(now, BRUSSELS)
        first = brussels_day(now - int(self.settings.ledger.recheck_days * 86400))
        days = [first + timedelta(days=i) for i in range((today - first).days + 1)]
        if local.hour * 60 + local.minute >= self.settings.prices.publish_minutes:
            days.append(today + timedelta(days=1))
        return days

    async def missing(self, days: list[date]) -> list[date]:
        """The days without a price in every hour (in InfluxDB or written by this process)."""
        todo = [d for d in days if d not in self.have]
        if not todo:
            return []
        start, end = day_bounds(todo[0])[0], day_bounds(todo[-1])[1]
        counts = await self.reads.counts(MEASUREMENT, "price_eur_mwh", start, end, 3600,
                                         tags={"zone": self.settings.prices.zone})
        out = []
        for day in todo:
            lo, hi = day_bounds(day)
            if all(counts.get(h) for h in range(lo, hi, 3600)):
                self.have.add(day)
            else:
                out.append(day)
        return out

    async def run(self, now: int | None = None, monotonic: float | None = None) -> int:
        """One look; returns the number of price points written."""
        clock = time.monotonic() if monotonic is None else monotonic
        if self.refused or clock < self.next_try:
            return 0
        now = int(time.time()) if now is None else now
        interval = self.settings.prices.interval
        try:
            days = await self.missing(self.wanted(now))
            if not days:
                self.next_try = clock + interval
                return 0
            start, end = day_bounds(days[0])[0], day_bounds(days[-1])[1]
            fetched = await self.client.fetch(start - 3600, end)
        except PricesAuthError as exc:
            self.refused = True
            self._failed(str(exc), clock)
            return 0
        except (PricesError, OSError) as exc:
            self._failed(str(exc), clock)
            return 0
        except Exception as exc:  # InfluxDB unreachable for the check: try again later
            self._failed(f"checking InfluxDB for prices: {exc}", clock)
            return 0
        self.backoff.succeeded()
        self.next_try = clock + interval
        prices = fetched.result.prices
        got = {brussels_day(p.start) for p in prices}
        hours = {p.start - p.start % 3600 for p in prices}
        points = price_points(prices, self.settings.installation, self.settings.prices.zone)
        if points:
            self.outbox.put(points, source="prices")
            self.outbox.set_meta(NEWEST, str(max(p.end for p in prices)))
        self.have |= {d for d in days
                      if all(h in hours for h in range(*day_bounds(d), 3600))}
        stamp = datetime.fromtimestamp(now, UTC).isoformat(timespec="seconds")
        waiting = [d.isoformat() for d in days if d not in got]
        note = f"; not published yet: {', '.join(waiting)}" if waiting else ""
        self.outbox.set_meta(LAST_FETCH, f"{stamp}: {len(points)} prices for "
                             f"{', '.join(sorted(d.isoformat() for d in got)) or 'no day'}{note}")
        self.outbox.set_meta(LAST_ERROR, "")
        log.info("day-ahead prices: %d written%s", len(points), note)
        return len(points)

    def _failed(self, reason: str, clock: float) -> None:
        delay = self.backoff.failed(now=clock)
        self.next_try = self.backoff.not_before
        self.problems.report(FAILED, "day-ahead prices: %s; next try in %.0f s", reason, delay)
        stamp = datetime.now(UTC).isoformat(timespec="seconds")
        self.outbox.set_meta(LAST_ERROR, f"{stamp}: {reason}"[:300])

    async def close(self) -> None:
        await self.client.close()
        await self.ql.close()
