"""The capacity tariff of one Belgian month, and KPIs. Pure.

The grid operator bills the monthly peak of the quarter-hour average offtake demand, each month
counted as at least 2.5 kW, averaged over the last 12 months. The ledger computes the peak from
its own quarter-hours (import energy × 4) and keeps the meter's own statement of it next to it,
with the difference, so a disagreement is visible instead of silently trusted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

FLOOR_W = 2500.0  # every month counts as at least 2.5 kW
MONTHS_IN_MEAN = 12
# 1 Wh of quarter energy is 4 W of demand; the meter prints kW with 3 decimals (1 W).
AGREEMENT_W = 5.0


@dataclass(frozen=True, slots=True)
class MonthPeak:
    start: int  # the month's start, epoch s
    peak_w: float
    peak_start: int | None
    billed_w: float
    mean_12m_w: float
    months_in_mean: int
    meter_peak_w: float | None
    meter_peak_s: int | None
    estimated: bool

    @property
    def meter_diff_w(self) -> float | None:
        return None if self.meter_peak_w is None else self.peak_w - self.meter_peak_w

    @property
    def disagrees(self) -> bool:
        diff = self.meter_diff_w
        return diff is not None and abs(diff) > AGREEMENT_W


def billed(peak_w: float) -> float:
    return max(peak_w, FLOOR_W)


def month_peak(
    start: int,
    peak_w: float,
    peak_start: int | None,
    earlier_billed: Mapping[int, float],
    meter: tuple[float, int | None] | None,
    estimated: bool,
) -> MonthPeak:
    """The month's peak record. `earlier_billed`: billed W of the (up to) 11 months before it,
    keyed by month start; months the ledger does not have are simply not in the mean."""
    own = billed(peak_w)
    values = [own, *earlier_billed.values()][:MONTHS_IN_MEAN]
    return MonthPeak(
        start=start,
        peak_w=peak_w,
        peak_start=peak_start,
        billed_w=own,
        mean_12m_w=round(sum(values) / len(values), 3),
        months_in_mean=len(values),
        meter_peak_w=None if meter is None else meter[0],
        meter_peak_s=None if meter is None else meter[1],
        estimated=estimated,
    )


def self_consumption_pct(solar: float, export: float) -> float | None:
    """Share of the production not exported; export beyond the production (a battery
    discharging into the grid) takes nothing more away. None without production."""
    if solar <= 0:
        return None
    return 100.0 * (solar - min(max(export, 0.0), solar)) / solar


def self_sufficiency_pct(consumption: float, imported: float) -> float | None:
    """Share of the consumption not covered by import; import beyond the consumption (a
    battery charged from the grid) takes nothing more away. None without consumption."""
    if consumption <= 0:
        return None
    return 100.0 * (consumption - min(max(imported, 0.0), consumption)) / consumption
