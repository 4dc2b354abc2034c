"""Day-ahead prices as `price_day_ahead` Points (docs/schema.md).

A price's identity is installation + zone + resolution + the period's start, so fetching or
importing the same period again overwrites it. Each point also carries the price of the period
that follows it (`next_price_eur_mwh`, same resolution, else the one that starts there) when that
is in the same batch, so a dashboard can show "now" and
"next" from the current point alone, without querying the future.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from logger.core.point import Point

MEASUREMENT = "price_day_ahead"
RESOLUTIONS = {900: "PT15M", 1800: "PT30M", 3600: "PT60M"}
RESOLUTION_S = {name: seconds for seconds, name in RESOLUTIONS.items()}


@dataclass(frozen=True, slots=True, order=True)
class PricePoint:
    """One day-ahead price: [start, start + resolution_s), EUR/MWh."""

    start: int
    resolution_s: int
    price_eur_mwh: float

    @property
    def end(self) -> int:
        return self.start + self.resolution_s


def resolution_name(seconds: int) -> str:
    """`PT15M`, `PT60M`: the tag value (ISO 8601 durations, as ENTSO-E writes them)."""
    return RESOLUTIONS.get(seconds, f"PT{seconds // 60}M")


def price_points(prices: Iterable[PricePoint], installation: str, zone: str) -> list[Point]:
    """The Points of `prices`; within each resolution, each knows the next period's price."""
    ordered = sorted(prices)
    by_start = {(p.resolution_s, p.start): p.price_eur_mwh for p in ordered}
    any_start = {p.start: p.price_eur_mwh for p in reversed(ordered)}  # finest wins
    out = []
    for p in ordered:
        tags = {"installation": installation, "zone": zone,
                "resolution": resolution_name(p.resolution_s)}
        following = by_start.get((p.resolution_s, p.end), any_start.get(p.end))
        fields = {"price_eur_mwh": p.price_eur_mwh, "next_price_eur_mwh": following}
        point = Point.make(MEASUREMENT, tags, fields, p.start)
        if point is not None:
            out.append(point)
    return out
