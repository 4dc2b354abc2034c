"""`jullix-logger prices fetch` and `prices import`: day-ahead prices of any range into InfluxDB.

Fetching asks the Transparency Platform (`[prices]` url, zone, token) for [since, until) and the
hour before it (so the day before's last price learns its successor, `next_price_eur_mwh`), a
month per request; importing reads the documented CSV (`logger.sources.prices.csv_import`). Both
write through the outbox (`one_shot`), so fetching a period again overwrites it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from logger.app.one_shot import Delivered, OneShot
from logger.config import Settings
from logger.sources.prices.a44 import A44Result
from logger.sources.prices.client import EntsoeClient
from logger.sources.prices.csv_import import parse_csv
from logger.sources.prices.points import PricePoint, price_points


@dataclass
class PricesResult:
    prices: list[PricePoint] = field(default_factory=list)
    parsed: A44Result | None = None
    requests: int = 0
    empty: list[str] = field(default_factory=list)
    delivered: Delivered = field(default_factory=Delivered)

    def by_resolution(self) -> dict[int, int]:
        out: dict[int, int] = {}
        for p in self.prices:
            out[p.resolution_s] = out.get(p.resolution_s, 0) + 1
        return out


def make_client(settings: Settings) -> EntsoeClient:
    p = settings.prices
    return EntsoeClient(p.url, p.token, p.zone, timeout=p.timeout)


async def fetch_prices(settings: Settings, start: int, end: int, dry_run: bool = False,
                       progress: Callable[[int, int], None] | None = None) -> PricesResult:
    """Fetch [start, end) (and the hour before) and write it; PricesError/NotReady on failure."""
    client = make_client(settings)
    try:
        fetched = await client.fetch(start - 3600, end, progress)
    finally:
        await client.close()
    result = PricesResult(fetched.result.prices, fetched.result, fetched.requests, fetched.empty)
    await _write(settings, result, dry_run)
    return result


async def import_prices(settings: Settings, path: Path, dry_run: bool = False) -> PricesResult:
    """Import one CSV file; CsvError (with the line) when it is not the documented format."""
    result = PricesResult(parse_csv(path.read_text(encoding="utf-8-sig")))
    await _write(settings, result, dry_run)
    return result


async def _write(settings: Settings, result: PricesResult, dry_run: bool) -> None:
    points = price_points(result.prices, settings.installation, settings.prices.zone)
    async with OneShot(settings, dry_run) as out:
        for i in range(0, len(points), 10_000):
            out.put(points[i:i + 10_000])
            await out.deliver()
    result.delivered = out.result
