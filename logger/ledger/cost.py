"""What the energy cost: each quarter-hour's charges from its meter energy, the contract in force
and the day-ahead price, summed to hours, days and months. Pure (docs/cost.md has every formula).

The grain is the ledger's quarter-hour, the grain of the meter's registers and of the day-ahead
market since 2025-10-01: `import x offtake price`, `export x injection price`, the grid fees and
levies per kWh of import, VAT on what the household pays (not on the injection revenue). A day
adds its share of the fixed yearly fees; a month adds the capacity tariff on the ledger's
12-month mean peak. A quarter whose contract takes anything from the day-ahead market and has no
price for it is *missing*: it is never costed as 0, and every period containing it is missing
too. The contracts arrive as the config's models; this module only reads their attributes
(`Terms` and friends say which), so the ledger stays free of the config layer.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Protocol

from logger.core.belgian_time import BRUSSELS, brussels_day, day_bounds

QUARTER_S, HOUR_S = 900, 3600


class Rate(Protocol):
    kind: str
    price_eur_kwh: float | None
    t1_eur_kwh: float | None
    t2_eur_kwh: float | None
    factor: float | None
    basis: str

    @property
    def dynamic(self) -> bool: ...


class OfftakeRate(Rate, Protocol):
    exclusive_night_eur_kwh: float | None
    adder_eur_kwh: float | None


class InjectionRate(Rate, Protocol):
    fee_eur_kwh: float | None


class BandTerms(Protocol):
    eur_kwh: float

    def minutes(self) -> tuple[int, int]: ...


class GridTerms(Protocol):
    distribution_eur_kwh: float
    exclusive_night_eur_kwh: float | None
    transmission_eur_kwh: float
    bands: Sequence[BandTerms]


class Terms(Protocol):
    """What the costing reads of one `[[tariff]]` contract (logger/config/tariff.py)."""

    valid_from: date
    valid_until: date | None
    region: str
    offtake: OfftakeRate
    injection: InjectionRate | None
    grid: GridTerms
    levies_eur_kwh: float
    capacity_eur_kw_year: float | None
    capacity_eur_year: float | None
    data_management_eur_year: float
    fixed_eur_year: float
    vat_pct: float

    @property
    def dynamic(self) -> bool: ...


class Book:
    """The contracts on the time line: which one holds at an instant (None before the first,
    or after one that ends with `valid_until` and has no successor)."""

    def __init__(self, contracts: Sequence[Terms]) -> None:
        self.contracts = sorted(contracts, key=lambda c: c.valid_from)
        self.starts = [day_bounds(c.valid_from)[0] for c in self.contracts]
        self.ends = [day_bounds(c.valid_until)[0] if c.valid_until else None
                     for c in self.contracts]
        self._start = {id(c): t for c, t in zip(self.contracts, self.starts, strict=True)}

    def at(self, t: int) -> Terms | None:
        i = bisect.bisect_right(self.starts, t) - 1
        if i < 0:
            return None
        end = self.ends[i]
        return self.contracts[i] if end is None or t < end else None

    def start_of(self, contract: Terms) -> int:
        return self._start[id(contract)]


class Prices:
    """Day-ahead prices by resolution: seconds -> {period start: EUR/MWh}."""

    def __init__(self, by_resolution: dict[int, dict[int, float]]) -> None:
        self.quarter = by_resolution.get(QUARTER_S, {})
        self.hour = by_resolution.get(HOUR_S, {})

    def spot(self, q: int, basis: str) -> tuple[float, int] | None:
        """(EUR/MWh, the length of the period it is the price of) for quarter `q`: its own
        quarter-hour price, or the hour's (the PT60M price, else the mean of its four
        quarter-hour prices) for an `hourly_average` contract or when only the hour is known."""
        h = q - q % HOUR_S
        if basis == "quarter_hour" and q in self.quarter:
            return self.quarter[q], QUARTER_S
        quarters = [self.quarter.get(h + i * QUARTER_S) for i in range(4)]
        if basis == "hourly_average" and all(p is not None for p in quarters):
            return sum(p for p in quarters if p is not None) / 4, HOUR_S
        if h in self.hour:
            return self.hour[h], HOUR_S
        return None


@dataclass(frozen=True, slots=True)
class Energy:
    """One quarter's meter energy in Wh, per register (T1 day, T2 night)."""

    start: int
    import_t1: int
    import_t2: int
    export_t1: int = 0
    export_t2: int = 0
    estimated: bool = False

    @property
    def imported(self) -> int:
        return self.import_t1 + self.import_t2

    @property
    def exported(self) -> int:
        return self.export_t1 + self.export_t2


@dataclass
class Charges:
    """Money of one period, EUR: what the household pays and what its injection earns."""

    energy: float = 0.0
    grid: float = 0.0
    levies: float = 0.0
    injection: float = 0.0  # revenue (negative when injecting cost money)
    fixed: float = 0.0
    capacity: float = 0.0
    vat: float = 0.0

    @property
    def total(self) -> float:
        return (self.energy + self.grid + self.levies + self.fixed + self.capacity + self.vat
                - self.injection)

    def add(self, other: Charges) -> None:
        for name in ("energy", "grid", "levies", "injection", "fixed", "capacity", "vat"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


def _local_minute(t: int) -> int:
    local = datetime.fromtimestamp(t, BRUSSELS)
    return local.hour * 60 + local.minute


def distribution_rate(grid: GridTerms, t: int) -> float:
    """EUR/kWh of distribution for a quarter starting at `t`: its band's rate, else the base."""
    if not grid.bands:
        return grid.distribution_eur_kwh
    minute = _local_minute(t)
    for band in grid.bands:
        lo, hi = band.minutes()
        inside = lo <= minute < hi if lo < hi else (minute >= lo or minute < hi)
        if inside:
            return band.eur_kwh
    return grid.distribution_eur_kwh


def _per_kwh(rate: Rate, t1_wh: int, t2_wh: int, spot: float | None, extra: float,
             t2_rate: float | None = None) -> float:
    """EUR of `t1_wh + t2_wh` at `rate` (dynamic: factor x spot in EUR/kWh + extra)."""
    if rate.kind == "dynamic":
        assert spot is not None and rate.factor is not None
        return (t1_wh + t2_wh) / 1000 * (rate.factor * spot / 1000 + extra)
    if rate.kind == "single":
        assert rate.price_eur_kwh is not None
        return (t1_wh + t2_wh) / 1000 * rate.price_eur_kwh
    assert rate.t1_eur_kwh is not None
    night = rate.t2_eur_kwh if t2_rate is None else t2_rate
    assert night is not None
    return t1_wh / 1000 * rate.t1_eur_kwh + t2_wh / 1000 * night


def quarter_charges(c: Terms, e: Energy, prices: Prices) -> tuple[Charges, float | None, int
                                                                 ] | None:
    """(charges, the offtake's day-ahead EUR/MWh or None, that price's period in s) of one
    quarter under contract `c`; None when a day-ahead price it needs is missing."""
    off_spot = inj_spot = None
    basis_s = 0
    if c.offtake.dynamic:
        found = prices.spot(e.start, c.offtake.basis)
        if found is None:
            return None
        off_spot, basis_s = found
    if c.injection is not None and c.injection.dynamic:
        found = prices.spot(e.start, c.injection.basis)
        if found is None:
            return None
        inj_spot = found[0]
    out = Charges()
    o = c.offtake
    excl = o.exclusive_night_eur_kwh if o.kind == "exclusive_night" else None
    out.energy = _per_kwh(o, e.import_t1, e.import_t2, off_spot, o.adder_eur_kwh or 0.0, excl)
    base = distribution_rate(c.grid, e.start)
    night_grid = c.grid.exclusive_night_eur_kwh if o.kind == "exclusive_night" else None
    out.grid = (e.import_t1 / 1000 * base
                + e.import_t2 / 1000 * (base if night_grid is None else night_grid)
                + e.imported / 1000 * c.grid.transmission_eur_kwh)
    out.levies = e.imported / 1000 * c.levies_eur_kwh
    if c.injection is not None:
        i = c.injection
        out.injection = _per_kwh(i, e.export_t1, e.export_t2, inj_spot, -(i.fee_eur_kwh or 0.0))
    out.vat = c.vat_pct / 100 * (out.energy + out.grid + out.levies)
    return out, off_spot, basis_s


def days_in_year(day: date) -> int:
    return 366 if (day.year % 4 == 0 and day.year % 100 != 0) or day.year % 400 == 0 else 365


def days_in_month(day: date) -> int:
    first = day.replace(day=1)
    return ((first + timedelta(days=32)).replace(day=1) - first).days


def day_fixed(c: Terms, day: date) -> Charges:
    """A day's share of the yearly fixed fees (data management, the supplier's fee, and outside
    Flanders the fixed capacity term), and its VAT."""
    yearly = c.data_management_eur_year + c.fixed_eur_year + (c.capacity_eur_year or 0.0)
    out = Charges(fixed=yearly / days_in_year(day))
    out.vat = c.vat_pct / 100 * out.fixed
    return out


def capacity_share(book: Book, days: Iterable[date], mean_12m_w: float) -> Charges:
    """The month's capacity tariff (Flanders) for the days it holds: `mean_12m_kW x EUR/kW/year
    / 12`, each day taking 1/days-in-month of it at the price of its own contract."""
    out = Charges()
    for day in days:
        c = book.at(day_bounds(day)[0])
        if c is None or c.capacity_eur_kw_year is None:
            continue
        part = mean_12m_w / 1000 * c.capacity_eur_kw_year / 12 / days_in_month(day)
        out.capacity += part
        out.vat += c.vat_pct / 100 * part
    return out


@dataclass
class CostRow:
    """The cost of one period (docs/schema.md, `ledger_cost`)."""

    kind: str
    start: int
    end: int
    import_wh: int = 0
    export_wh: int = 0
    charges: Charges = field(default_factory=Charges)
    quarters: int = 0
    missing: int = 0  # quarters without the day-ahead price their contract needs
    estimated: bool = False
    spot: float | None = None  # 15m: the day-ahead EUR/MWh its offtake was priced at
    spot_import: float = 0.0  # sum of import Wh x EUR/MWh (for the import-weighted mean)
    spot_wh: int = 0  # the import Wh that had a day-ahead price
    spot_sum: float = 0.0  # sum of the quarters' day-ahead prices (the plain mean)
    spot_n: int = 0
    basis_s: int = 0  # 15m: the day-ahead price's period (900, 3600); 0: no day-ahead price
    contract_from: int | None = None  # the contract's start (the newest one, for sums)
    days: int = 0

    def add(self, other: CostRow) -> None:
        self.import_wh += other.import_wh
        self.export_wh += other.export_wh
        self.charges.add(other.charges)
        self.quarters += other.quarters
        self.missing += other.missing
        self.estimated |= other.estimated
        self.spot_import += other.spot_import
        self.spot_wh += other.spot_wh
        self.spot_sum += other.spot_sum
        self.spot_n += other.spot_n
        self.days += other.days
        if other.contract_from is not None:
            self.contract_from = max(self.contract_from or other.contract_from,
                                     other.contract_from)

    @property
    def price_eur_mwh(self) -> float | None:
        """15m: the day-ahead price used; longer: its mean weighted by import (the plain mean
        when nothing was imported)."""
        if self.kind == "15m":
            return self.spot
        if self.spot_wh:
            return self.spot_import / self.spot_wh
        return self.spot_sum / self.spot_n if self.spot_n else None


def cost_quarter(book: Book, e: Energy, prices: Prices) -> CostRow | None:
    """The cost row of one quarter; None outside every contract."""
    c = book.at(e.start)
    if c is None:
        return None
    row = CostRow("15m", e.start, e.start + QUARTER_S, e.imported, e.exported, quarters=1,
                  estimated=e.estimated, contract_from=book.start_of(c))
    found = quarter_charges(c, e, prices)
    if found is None:
        row.missing = 1
        return row
    row.charges, row.spot, row.basis_s = found
    if row.spot is not None:
        row.spot_import, row.spot_wh = e.imported * row.spot, e.imported
        row.spot_sum, row.spot_n = row.spot, 1
    return row


def summed(kind: str, start: int, end: int, rows: Iterable[CostRow]) -> CostRow:
    out = CostRow(kind, start, end)
    for row in rows:
        out.add(row)
    return out


def day_row(book: Book, day: date, quarters: Sequence[CostRow]) -> CostRow:
    """A Belgian day from its quarters, plus its fixed fees (`days` = 1)."""
    start, end = day_bounds(day)
    row = summed("1d", start, end, quarters)
    c = book.at(start)
    if c is not None:
        row.charges.add(day_fixed(c, day))
    row.days = 1
    return row


def month_row(book: Book, start: int, end: int, days: Sequence[CostRow],
              mean_12m_w: float | None) -> CostRow:
    """A month from its days, plus the capacity tariff for those days."""
    row = summed("1mo", start, end, days)
    if mean_12m_w is not None:
        row.charges.add(capacity_share(book, [brussels_day(d.start) for d in days], mean_12m_w))
    return row
