"""Electricity contracts (`[[tariff]]`): what each kWh, kW and day costs, as the user's bill says.

Every entry is one contract valid from a date (Belgian local midnight) until the next entry's
`valid_from` (or its own `valid_until`). All numbers are the user's: prices change every 1 January
and with every new contract, and they differ per supplier and grid operator, so nothing here is
a built-in price. The components (docs/cost.md explains every formula):

- `offtake`: the supplier's energy price. `single` (one price), `day_night` (the meter's T1 and T2
  registers priced apart), `exclusive_night` (T1 at the day price, the T2 register as an
  exclusive-night circuit) or `dynamic`: `factor x day-ahead + adder_eur_kwh`, on the quarter-hour
  price or the hourly average (`basis`).
- `injection`: what exported energy earns: a fixed price, or `factor x day-ahead - fee_eur_kwh`
  (negative when the day-ahead price is low enough: then injecting costs money).
- `grid`: distribution and transmission per kWh of offtake (optional time bands, as Wallonia's
  2026 tariffs have).
- `levies_eur_kwh`: excise and levies per kWh of offtake.
- the capacity component, whose meaning the `region` decides: Flanders bills EUR per kW per year on
  the rolling 12-month mean of monthly peaks (`capacity_eur_kw_year`); Wallonia and Brussels have
  no peak-based tariff, only a fixed yearly term (`capacity_eur_year`).
- fixed fees per year (`data_management_eur_year`, `fixed_eur_year`), spread over the days.
- `vat_pct` on everything but the injection revenue.

Validation is strict and says in one line what is wrong: unknown components are refused (a typo
must not silently cost 0), negative prices where none can be, overlapping or missing validity.
"""

from __future__ import annotations

import re
from datetime import date
from itertools import pairwise
from typing import Annotated, ClassVar, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

NonNegative = Annotated[float, Field(ge=0.0)]
_HOURS = re.compile(r"^(\d\d):(\d\d)-(\d\d):(\d\d)$")


class Part(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _require(model: BaseModel, kind: str, needed: tuple[str, ...], allowed: tuple[str, ...]
             ) -> None:
    """The keys one `kind` needs are set, and none that only another kind uses."""
    missing = [k for k in needed if getattr(model, k) is None]
    if missing:
        raise ValueError(f"kind {kind!r} needs {', '.join(missing)}")
    extra = [k for k in ("price_eur_kwh", "t1_eur_kwh", "t2_eur_kwh", "exclusive_night_eur_kwh",
                         "factor", "adder_eur_kwh", "fee_eur_kwh")
             if k in type(model).model_fields and getattr(model, k) is not None
             and k not in needed + allowed]
    if extra:
        raise ValueError(f"kind {kind!r} does not use {', '.join(extra)}")


class Rate(Part):
    """What an offtake or injection price needs per `kind` (`NEEDED`), checked once for both."""

    NEEDED: ClassVar[dict[str, tuple[str, ...]]] = {}
    kind: str
    basis: Literal["quarter_hour", "hourly_average"] = "quarter_hour"  # dynamic only

    @model_validator(mode="after")
    def _complete(self) -> Rate:
        _require(self, self.kind, self.NEEDED[self.kind], ())
        if self.kind != "dynamic" and "basis" in self.model_fields_set:
            raise ValueError(f"kind {self.kind!r} does not use basis (a day-ahead option)")
        return self

    @property
    def dynamic(self) -> bool:
        return self.kind == "dynamic"


class Offtake(Rate):
    """The supplier's price of imported energy, EUR per kWh excluding VAT."""

    NEEDED: ClassVar[dict[str, tuple[str, ...]]] = {
        "single": ("price_eur_kwh",), "day_night": ("t1_eur_kwh", "t2_eur_kwh"),
        "exclusive_night": ("t1_eur_kwh", "exclusive_night_eur_kwh"),
        "dynamic": ("factor", "adder_eur_kwh")}
    kind: Literal["single", "day_night", "exclusive_night", "dynamic"]
    price_eur_kwh: NonNegative | None = None  # single
    t1_eur_kwh: NonNegative | None = None  # day_night, exclusive_night: the T1 (day) register
    t2_eur_kwh: NonNegative | None = None  # day_night: the T2 (night, weekend) register
    exclusive_night_eur_kwh: NonNegative | None = None  # exclusive_night: the T2 register
    factor: float | None = Field(None, gt=0.0)  # dynamic: x the day-ahead price in EUR/kWh
    adder_eur_kwh: float | None = None  # dynamic: added per kWh (may be negative)


class Injection(Rate):
    """What exported energy earns, EUR per kWh (households pay no VAT on it)."""

    NEEDED: ClassVar[dict[str, tuple[str, ...]]] = {
        "single": ("price_eur_kwh",), "day_night": ("t1_eur_kwh", "t2_eur_kwh"),
        "dynamic": ("factor", "fee_eur_kwh")}
    kind: Literal["single", "day_night", "dynamic"]
    price_eur_kwh: float | None = None  # single (may be negative in some contracts)
    t1_eur_kwh: float | None = None
    t2_eur_kwh: float | None = None
    factor: float | None = Field(None, gt=0.0)  # dynamic: factor x day-ahead - fee_eur_kwh
    fee_eur_kwh: float | None = None


class Band(Part):
    """A time band of the distribution fee: `hours` local ("07:00-11:00"; "22:00-01:00" wraps
    past midnight), every day, at `eur_kwh` instead of the base rate."""

    hours: str
    eur_kwh: NonNegative

    @model_validator(mode="after")
    def _hours(self) -> Band:
        self.minutes()
        return self

    def minutes(self) -> tuple[int, int]:
        """(from, to) in minutes after local midnight."""
        match = _HOURS.match(self.hours)
        if not match:
            raise ValueError(f"hours {self.hours!r} is not HH:MM-HH:MM")
        h0, m0, h1, m1 = (int(g) for g in match.groups())
        if h0 > 24 or h1 > 24 or m0 > 59 or m1 > 59 or (h0, m0) == (h1, m1):
            raise ValueError(f"hours {self.hours!r} is not a time range of the day")
        return h0 * 60 + m0, h1 * 60 + m1


class Grid(Part):
    """The grid operator's and transmission fees per kWh of offtake, EUR excluding VAT."""

    distribution_eur_kwh: NonNegative = 0.0
    exclusive_night_eur_kwh: NonNegative | None = None  # the exclusive-night register's rate
    transmission_eur_kwh: NonNegative = 0.0
    bands: tuple[Band, ...] = ()  # distribution_eur_kwh replaced inside these hours


class Contract(Part):
    """One `[[tariff]]` entry: the prices from `valid_from` (Belgian local midnight) on."""

    valid_from: date
    valid_until: date | None = None  # default: the next entry's valid_from, or open-ended
    name: str = ""
    region: Literal["flanders", "wallonia", "brussels"] = "flanders"
    offtake: Offtake
    injection: Injection | None = None  # None: exported energy earns nothing
    grid: Grid = Field(default_factory=Grid)
    levies_eur_kwh: NonNegative = 0.0
    capacity_eur_kw_year: NonNegative | None = None  # flanders: on the 12-month mean peak
    capacity_eur_year: NonNegative | None = None  # wallonia, brussels: a fixed yearly term
    data_management_eur_year: NonNegative = 0.0
    fixed_eur_year: NonNegative = 0.0  # the supplier's fixed fee
    vat_pct: float = Field(6.0, ge=0.0, le=100.0)

    @model_validator(mode="after")
    def _consistent(self) -> Contract:
        if self.valid_until is not None and self.valid_until <= self.valid_from:
            raise ValueError(f"valid_until {self.valid_until} is not after valid_from "
                             f"{self.valid_from}")
        if self.region == "flanders" and self.capacity_eur_year is not None:
            raise ValueError("capacity_eur_year is the fixed term of wallonia and brussels; "
                             "flanders bills capacity_eur_kw_year on the measured peaks")
        if self.region != "flanders" and self.capacity_eur_kw_year is not None:
            raise ValueError(f"capacity_eur_kw_year (a tariff on measured peaks) does not exist "
                             f"in {self.region}: use capacity_eur_year for its fixed term")
        if self.grid.exclusive_night_eur_kwh is not None and (
                self.offtake.kind != "exclusive_night"):
            raise ValueError("grid.exclusive_night_eur_kwh needs offtake kind "
                             "'exclusive_night'")
        return self

    @property
    def dynamic(self) -> bool:
        """Whether any component is priced from the day-ahead market."""
        return self.offtake.dynamic or (self.injection is not None and self.injection.dynamic)

    @property
    def label(self) -> str:
        return self.name or f"from {self.valid_from}"


def check_contracts(contracts: list[Contract]) -> list[Contract]:
    """The contracts in date order, each running until the next starts; one line when two
    overlap or leave days without a contract between them."""
    ordered = sorted(contracts, key=lambda c: c.valid_from)
    for n, (one, after) in enumerate(pairwise(ordered), start=1):
        if one.valid_from == after.valid_from:
            raise ValueError(f"two contracts are valid from {one.valid_from}: one date, one "
                             "contract")
        if one.valid_until is None:
            continue
        if one.valid_until > after.valid_from:
            raise ValueError(f"contract {n} ({one.label}) runs until {one.valid_until}, past "
                             f"the start of the next one ({after.valid_from}): they overlap")
        if one.valid_until < after.valid_from:
            raise ValueError(f"no contract from {one.valid_until} to {after.valid_from}: contract "
                             f"{n} ({one.label}) ends before the next one starts; set its "
                             "valid_until to the next valid_from (or leave it out)")
    return ordered


Contracts = Annotated[list[Contract], AfterValidator(check_contracts)]
