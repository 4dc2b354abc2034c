"""Reading what costing a span needs: the ledger's quarter-hours, which days and months it has
completed, its capacity peaks, the day-ahead prices, the `power_flow` samples of the savings,
and what the cost ledger already holds. The sink answers the queries (`LedgerReads`, InfluxQL);
`logger.ledger.cost` and `savings` compute.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from logger.ledger.cost import Energy, Prices
from logger.ledger.cost_points import COST, COST_FIELDS, SAVINGS, SAVINGS_FIELDS
from logger.ledger.points import ENERGY, PEAK
from logger.ledger.savings import Flows, Split, split_quarters
from logger.sink.ledger_reads import LedgerReads
from logger.sources.prices.points import MEASUREMENT as PRICES
from logger.sources.prices.points import RESOLUTION_S

QUARTER_FIELDS = ("import_t1_kwh", "import_t2_kwh", "export_t1_kwh", "export_t2_kwh",
                  "solar_kwh", "battery_charged_kwh", "battery_discharged_kwh", "estimated")
FLOW_FIELDS = ("grid_w", "battery_w", "solar_w")
PRICE_PAGE_S = 32 * 86400

Stored = dict[tuple[str, int], dict[str, float | None]]  # (period, start) -> fields


def _wh(value: object) -> int:
    return round(float(value) * 1000) if isinstance(value, int | float) else 0


@dataclass
class SpanData:
    """What the ledger and InfluxDB hold for one span of days (and its month)."""

    flows: dict[int, Flows] = field(default_factory=dict)  # quarter start -> energy
    days: set[int] = field(default_factory=set)  # starts of the month's complete ledger days
    month: bool = False  # the ledger has the month
    mean_12m_w: float | None = None
    billed: dict[int, float] = field(default_factory=dict)  # month start -> real billed W
    prices: Prices = field(default_factory=lambda: Prices({}))
    cost: Stored = field(default_factory=dict)
    savings: Stored = field(default_factory=dict)
    earlier_savings: dict[int, dict[str, float | None]] = field(default_factory=dict)
    flow_counts: dict[int, int] = field(default_factory=dict)  # quarter -> power_flow points


async def read_quarters(reads: LedgerReads, start: int, end: int) -> dict[int, Flows]:
    rows = await reads.ledger_rows(ENERGY, QUARTER_FIELDS, start, end, {"period": "15m"})
    out = {}
    for r in rows:
        v = dict(zip(QUARTER_FIELDS, r.values, strict=True))
        energy = Energy(r.time, _wh(v["import_t1_kwh"]), _wh(v["import_t2_kwh"]),
                        _wh(v["export_t1_kwh"]), _wh(v["export_t2_kwh"]),
                        bool(v["estimated"]))
        battery = v["battery_charged_kwh"] is not None or v["battery_discharged_kwh"] is not None
        out[r.time] = Flows(energy, _wh(v["solar_kwh"]), _wh(v["battery_charged_kwh"]),
                            _wh(v["battery_discharged_kwh"]), battery)
    return out


async def read_prices(reads: LedgerReads, zone: str, start: int, end: int) -> Prices:
    """Every day-ahead price of [start, end) (and the hour around it), by resolution: a month
    is at most ~3,000 points, so it is asked in pages of a month, not of `page_hours`."""
    by: dict[int, dict[int, float]] = {}
    monthly = LedgerReads(reads.ql, reads.installation, reads.ledger_from, PRICE_PAGE_S)
    async for page in monthly.rows(PRICES, ("price_eur_mwh",), start - 3600, end + 3600,
                                   ("resolution",), {"zone": zone}):
        for r in page:
            seconds = RESOLUTION_S.get(r.tags[0][1])
            if seconds is not None and isinstance(r.values[0], int | float):
                by.setdefault(seconds, {})[r.time] = float(r.values[0])
    return Prices(by)


async def read_stored(reads: LedgerReads, measurement: str, fields: Sequence[str],
                      kinds: Sequence[str], start: int, end: int) -> Stored:
    out: Stored = {}
    for kind in kinds:
        for r in await reads.ledger_rows(measurement, fields, start, end, {"period": kind}):
            out[(kind, r.time)] = dict(zip(fields, r.values, strict=True))
    return out


async def read_span(reads: LedgerReads, zone: str, start: int, end: int, month: tuple[int, int],
                    earliest: int, savings: bool) -> SpanData:
    """The span [start, end) (whole days) inside the month [month); `earliest`: the start of
    the 11th month before it (the capacity tariff's mean)."""
    data = SpanData()
    data.flows = await read_quarters(reads, start, end)
    data.days = {r.time for r in await reads.ledger_rows(ENERGY, ("import_kwh",), *month,
                                                         {"period": "1d"})}
    data.month = bool(await reads.ledger_rows(ENERGY, ("import_kwh",), month[0], month[0] + 1,
                                              {"period": "1mo"}))
    for r in await reads.ledger_rows(PEAK, ("billed_w", "mean_12m_w"), earliest, month[1], {}):
        if isinstance(r.values[0], int | float):
            data.billed[r.time] = float(r.values[0])
        if r.time == month[0] and isinstance(r.values[1], int | float):
            data.mean_12m_w = float(r.values[1])
    data.prices = await read_prices(reads, zone, start, end)
    data.cost = await read_stored(reads, COST, COST_FIELDS, ("15m", "1h", "1d"), start, end)
    data.cost.update(await read_stored(reads, COST, COST_FIELDS, ("1d", "1mo"), *month))
    if savings:
        data.savings = await read_stored(reads, SAVINGS, SAVINGS_FIELDS, ("1d", "1mo"), *month)
        earlier = await read_stored(reads, SAVINGS, SAVINGS_FIELDS, ("1mo",), earliest,
                                    month[0])
        data.earlier_savings = {t: v for (_, t), v in earlier.items()}
        data.flow_counts = await reads.counts("power_flow", "grid_w", start, end, 900)
    return data


async def read_splits(reads: LedgerReads, quarters: Sequence[int]) -> dict[int, Split]:
    """`power_flow` integrated per quarter (savings.split_quarters), for the given quarters
    only: consecutive ones are read as one range, with the sample before each range."""
    out: dict[int, Split] = {}
    ranges: list[list[int]] = []
    for q in sorted(quarters):
        if ranges and ranges[-1][1] == q:
            ranges[-1][1] = q + 900
        else:
            ranges.append([q, q + 900])
    for lo, hi in ranges:
        samples: list[tuple[int, float, float | None]] = []
        before = await reads.nearest("power_flow", FLOW_FIELDS, lo, True, horizons=(300,))
        async for page in reads.rows("power_flow", FLOW_FIELDS, lo, hi):
            for r in [*before, *page]:
                grid, battery, solar = r.values
                if not isinstance(grid, int | float) or (samples and r.time <= samples[-1][0]):
                    continue
                flow = float(grid) + float(battery or 0.0)
                load = flow + float(solar) if isinstance(solar, int | float) else None
                samples.append((r.time, flow, load))
            before = []
        split = split_quarters(samples)
        out.update({q: s for q, s in split.items() if lo <= q < hi})
    return out
