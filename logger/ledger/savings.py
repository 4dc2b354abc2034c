"""What the battery and the sun were worth: the same house costed without them. Pure; every
figure here is an estimate by nature (a counterfactual), docs/cost.md explains the method.

- **Without the battery**: at every `power_flow` sample the grid would have carried
  `grid_w + battery_w` (the battery's power goes back onto the grid: `home + car - solar`), split
  into import and export per sample, each sample holding until the next (at most `HOLD_S`).
  Where `power_flow` covers less than half a quarter-hour, the ledger's counters stand in:
  `import - export + discharged - charged`, netted over the quarter.
- **Without solar and battery**: everything the house used is imported: the load from
  `power_flow` (`grid_w + solar_w + battery_w`), else the ledger's `consumption_kwh`.

Both are costed with the same contract and prices as the real quarter (`cost.quarter_charges`),
on the register (T1/T2) the real quarter's energy went through, and each has its own monthly
peak for the capacity tariff, floored and averaged over 12 months like the real one (months it
has no counterfactual for count with their real billed peak).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from logger.core.belgian_time import BRUSSELS
from logger.ledger.cost import QUARTER_S, Charges, Energy, Prices, Terms, quarter_charges
from logger.ledger.tariff import MONTHS_IN_MEAN, billed

HOLD_S = 300  # a sample stands for at most this long (cloud history comes every 5 minutes)
MIN_COVER_S = QUARTER_S // 2


@dataclass
class Split:
    """One quarter of `power_flow`, integrated: Wh the grid would have imported and exported
    without the battery, the load, how many seconds the samples covered, how many there were."""

    import_wh: float = 0.0
    export_wh: float = 0.0
    load_wh: float = 0.0
    covered_s: float = 0.0
    load_s: float = 0.0  # seconds covered by samples that know the solar power too
    points: int = 0


def split_quarters(samples: Sequence[tuple[int, float, float | None]], hold_s: int = HOLD_S
                   ) -> dict[int, Split]:
    """Per quarter start: samples (t, grid + battery W, grid + battery + solar W or None),
    time-ordered, each held until the next one (at most `hold_s`)."""
    out: dict[int, Split] = {}
    for i, (t, flow, load) in enumerate(samples):
        end = t + hold_s
        if i + 1 < len(samples):
            end = min(end, samples[i + 1][0])
        out.setdefault(t - t % QUARTER_S, Split()).points += 1
        lo = t
        while lo < end:
            q = lo - lo % QUARTER_S
            hi = min(end, q + QUARTER_S)
            part = out.setdefault(q, Split())
            seconds = hi - lo
            part.covered_s += seconds
            if flow > 0:
                part.import_wh += flow * seconds / 3600
            else:
                part.export_wh += -flow * seconds / 3600
            if load is not None:
                part.load_wh += max(load, 0.0) * seconds / 3600
                part.load_s += seconds
            lo = hi
    return out


@dataclass(frozen=True, slots=True)
class Flows:
    """What the savings read of one ledger quarter, Wh."""

    energy: Energy
    solar: int = 0
    charged: int = 0
    discharged: int = 0
    battery: bool = False  # the installation has a battery (the ledger carries its energy)

    @property
    def consumption(self) -> int:
        e = self.energy
        return e.imported - e.exported + self.solar + self.discharged - self.charged


def night_share(e: Energy) -> float:
    """Which register a counterfactual quarter's energy goes through: the real quarter's (0: T1,
    1: T2), else the meter's usual schedule (T2 22:00-07:00 on weekdays and all weekend)."""
    t1, t2 = e.import_t1 + e.export_t1, e.import_t2 + e.export_t2
    if t1 + t2:
        return t2 / (t1 + t2)
    local = datetime.fromtimestamp(e.start, BRUSSELS)
    return 1.0 if local.weekday() >= 5 or local.hour >= 22 or local.hour < 7 else 0.0


def register_energy(start: int, imported: float, exported: float, night: float,
                    estimated: bool) -> Energy:
    """Counterfactual Wh as a quarter's energy, `night` of it on the T2 register."""
    i2, x2 = round(imported * night), round(exported * night)
    return Energy(start, round(imported) - i2, i2, round(exported) - x2, x2, estimated)


@dataclass
class Counterfactual:
    """One quarter without the battery (`no_battery`) and without solar and battery."""

    no_battery: Energy
    no_solar: Energy
    estimated: bool
    points: int


def counterfactual(f: Flows, split: Split | None) -> Counterfactual:
    e = f.energy
    night = night_share(e)
    estimated = True
    if not f.battery:
        no_battery, estimated = e, e.estimated
    elif split is not None and split.covered_s >= MIN_COVER_S:
        scale = QUARTER_S / split.covered_s
        no_battery = register_energy(e.start, split.import_wh * scale,
                                     split.export_wh * scale, night, True)
    else:
        net = e.imported - e.exported + f.discharged - f.charged
        no_battery = register_energy(e.start, max(net, 0), max(-net, 0), night, True)
    if split is not None and split.load_s >= MIN_COVER_S:
        load = split.load_wh * QUARTER_S / split.load_s
    else:
        load = max(f.consumption, 0)
    no_solar = register_energy(e.start, load, 0, night, True)
    return Counterfactual(no_battery, no_solar, estimated, split.points if split else 0)


@dataclass
class SavingsRow:
    """One period's three costs (docs/schema.md, `ledger_savings`)."""

    kind: str
    start: int
    end: int
    actual: Charges = field(default_factory=Charges)
    no_battery: Charges = field(default_factory=Charges)
    no_solar: Charges = field(default_factory=Charges)
    import_no_battery_wh: int = 0
    export_no_battery_wh: int = 0
    import_no_solar_wh: int = 0
    peak_no_battery_w: float = 0.0
    peak_no_solar_w: float = 0.0
    mean_no_battery_w: float | None = None  # 1mo: the 12-month means the capacity tariff uses
    mean_no_solar_w: float | None = None
    capacity_actual: Charges = field(default_factory=Charges)  # 1mo: capacity and its VAT
    capacity_no_battery: Charges = field(default_factory=Charges)
    capacity_no_solar: Charges = field(default_factory=Charges)
    missing: int = 0
    estimated: bool = True
    points: int = 0

    def add(self, other: SavingsRow) -> None:
        for name in ("actual", "no_battery", "no_solar"):
            getattr(self, name).add(getattr(other, name))
        self.import_no_battery_wh += other.import_no_battery_wh
        self.export_no_battery_wh += other.export_no_battery_wh
        self.import_no_solar_wh += other.import_no_solar_wh
        self.peak_no_battery_w = max(self.peak_no_battery_w, other.peak_no_battery_w)
        self.peak_no_solar_w = max(self.peak_no_solar_w, other.peak_no_solar_w)
        self.missing += other.missing
        self.points += other.points

    @property
    def battery_eur(self) -> float:
        return self.no_battery.total - self.actual.total

    @property
    def battery_capacity_eur(self) -> float:
        return self.capacity_no_battery.total - self.capacity_actual.total

    @property
    def solar_eur(self) -> float:
        return self.no_solar.total - self.no_battery.total

    @property
    def solar_injection_eur(self) -> float:
        return self.no_battery.injection


def savings_quarter(c: Terms, f: Flows, cf: Counterfactual, actual: Charges, prices: Prices
                    ) -> SavingsRow:
    """One quarter's savings row (its prices are known: the real quarter was costed)."""
    row = SavingsRow("15m", f.energy.start, f.energy.start + QUARTER_S, actual=actual,
                     estimated=cf.estimated, points=cf.points)
    for name, energy in (("no_battery", cf.no_battery), ("no_solar", cf.no_solar)):
        found = quarter_charges(c, energy, prices)
        assert found is not None  # the same prices the real quarter had
        setattr(row, name, found[0])
    row.import_no_battery_wh = cf.no_battery.imported
    row.export_no_battery_wh = cf.no_battery.exported
    row.import_no_solar_wh = cf.no_solar.imported
    row.peak_no_battery_w = cf.no_battery.imported * 4.0
    row.peak_no_solar_w = cf.no_solar.imported * 4.0
    return row


def summed(kind: str, start: int, end: int, rows: Iterable[SavingsRow]) -> SavingsRow:
    out = SavingsRow(kind, start, end, estimated=True)
    for row in rows:
        out.add(row)
    return out


def mean_12m(own_peak_w: float, earlier_billed: Mapping[int, float]) -> float:
    """The capacity tariff's mean of a counterfactual month: its own billed peak (at least
    2.5 kW) and up to 11 earlier months' (newest first)."""
    values = [billed(own_peak_w), *list(earlier_billed.values())][:MONTHS_IN_MEAN]
    return sum(values) / len(values)
