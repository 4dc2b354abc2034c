"""Day-ahead prices and the cost ledger inside the service: the price job (`prices_job`) and the
cost job (`cost_job`), scheduled like the others and each failing alone.

The price job looks every minute (it asks the platform only when a day's prices are missing and
due); the cost job runs every `[ledger] interval`, two minutes after the ledger's update. Neither
is created without what it needs (`[prices] enabled` with a token; `[[tariff]]` and the ledger),
and neither can hold up raw logging: they only put points into the outbox.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from logger.config import Settings
from logger.core.logs import get_logger
from logger.core.problems import Problems
from logger.outbox import Outbox

if TYPE_CHECKING:  # imported when the feature is on
    from logger.app.cost_job import CostJob
    from logger.app.prices_job import PricesJob

log = get_logger(__name__)

PRICES_EVERY = 60.0  # seconds between the price job's looks
PRICES_BUDGET = 600.0  # one look at most (the client's retries included)


class CostJobs:
    """The price and cost jobs of one service; `ready()` says whether writes may flow."""

    def __init__(self, prices: PricesJob | None, cost: CostJob | None, settings: Settings,
                 ready: Callable[[], bool]) -> None:
        self.prices = prices
        self.cost = cost
        self.settings = settings
        self.ready = ready

    @classmethod
    def create(cls, settings: Settings, outbox: Outbox, problems: Problems, ledger: bool,
               ready: Callable[[], bool]) -> CostJobs:
        """The jobs the settings ask for (none: an object that schedules nothing)."""
        prices = cost = None
        if settings.prices.enabled and settings.influx.configured:
            from logger.app.prices_job import PricesJob
            from logger.sources.prices.client import PricesConfigError

            try:
                prices = PricesJob(settings, outbox, problems)
            except PricesConfigError as exc:
                log.error("day-ahead prices are off: %s", exc)
        if ledger and settings.tariff:
            from logger.app.cost_job import CostJob

            cost = CostJob(settings, outbox, problems)
        return cls(prices, cost, settings, ready)

    def schedule(self, scheduler: Any, first_delay: float) -> None:
        now = datetime.now(UTC)
        if self.prices is not None:
            scheduler.add_job(self.fetch_prices, "interval", seconds=PRICES_EVERY,
                              id="prices_fetch", max_instances=1, coalesce=True,
                              misfire_grace_time=int(PRICES_EVERY),
                              next_run_time=now + timedelta(seconds=first_delay))
        if self.cost is not None:
            interval = self.settings.ledger.interval
            from logger.app.cost_job import DELAY_AFTER_LEDGER

            scheduler.add_job(self.update_cost, "interval", seconds=interval, id="cost_update",
                              max_instances=1, coalesce=True, misfire_grace_time=int(interval),
                              next_run_time=now + timedelta(
                                  seconds=first_delay + DELAY_AFTER_LEDGER))

    async def fetch_prices(self) -> None:
        if self.prices is None or not self.ready():
            return
        try:
            await asyncio.wait_for(self.prices.run(), PRICES_BUDGET)
        except TimeoutError:
            log.warning("day-ahead price fetch took longer than %.0f s; trying again later",
                        PRICES_BUDGET)

    async def update_cost(self) -> None:
        if self.cost is None or not self.ready():
            return
        budget = self.settings.ledger.interval * 0.9
        try:
            await asyncio.wait_for(self.cost.run(), budget)
        except TimeoutError:
            log.warning("cost update took longer than %.0f s; the next one continues", budget)
        except Exception as exc:  # counted, logged and kept for `status` by the job
            log.debug("cost update failed: %s", exc)

    async def close(self) -> None:
        for job in (self.prices, self.cost):
            if job is not None:
                await job.close()

