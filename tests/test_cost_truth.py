"""The cost ledger against an oracle written out here: each quarter-hour's cost from the
simulator's integer counters (`ledger_data`: the model's joules, floored to the registers' Wh) and
the simulated day-ahead prices (`day_ahead.prices_of_day`), with the contract's formula in plain
arithmetic below, never the cost code. Through a real influxd: history in, prices fetched from
the fake Transparency Platform (or imported from CSV), the ledger built by the `ledger` command's
function, the costs by the `cost` command's, read back from the ledger's retention policy.

The histories cover: the move from hourly to quarter-hourly prices and a month end (30 September
and 1 October 2025), the autumn DST day (100 quarter-hours) with a contract switch the day after,
mid-month, a tariff change on 1 January, and the spring DST day (92 quarter-hours) with a missing
hour of prices and negative injection prices.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from ledger_data import INSTALLATION, History, simulate

from logger.app.cost_job import build_costs
from logger.app.ledger_job import build_history
from logger.app.prices_load import fetch_prices, import_prices
from logger.config import Settings
from logger.core.belgian_time import BRUSSELS, day_bounds
from logger.testbed.influxd import InfluxServer
from logger.testbed.simulator import Simulator, SimulatorConfig
from logger.testbed.simulator.day_ahead import prices_of_day

pytestmark = pytest.mark.integration

PRICE_SEED = 6  # its spring Sunday has negative midday prices
TOKEN = "cost-test-token"
VAT = 0.06
DYNAMIC = {  # an Engie-Dynamic-like contract (config.example.toml), quarter-hour prices
    "valid_from": "2025-01-01", "name": "dynamic",
    "offtake": {"kind": "dynamic", "factor": 1.039, "adder_eur_kwh": 0.008702},
    "injection": {"kind": "dynamic", "factor": 1.0, "fee_eur_kwh": 0.013135},
    "grid": {"distribution_eur_kwh": 0.050503, "transmission_eur_kwh": 0.0042},
    "levies_eur_kwh": 0.064331, "capacity_eur_kw_year": 49.40,
    "data_management_eur_year": 17.85, "fixed_eur_year": 95.0, "vat_pct": 6.0,
}


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=BRUSSELS)


def ts(*args: int) -> int:
    return int(at(*args).timestamp())


def market(*days: date) -> dict[tuple[int, int], float]:
    """The simulated day-ahead prices: (resolution s, start) -> EUR/MWh."""
    return {(res, t): p for day in days for t, res, p in prices_of_day(PRICE_SEED, day)}


def spot(prices: dict[tuple[int, int], float], q: int, basis: str) -> float | None:
    """The day-ahead price a contract uses for quarter q: its own, or the hour's average."""
    hour = q - q % 3600
    if basis == "quarter_hour" and (900, q) in prices:
        return prices[(900, q)]
    quarters = [prices.get((900, hour + i * 900)) for i in range(4)]
    if basis == "hourly_average" and None not in quarters:
        return sum(quarters) / 4
    return prices.get((3600, hour))


def registers(h: History, q: int) -> tuple[int, int, int, int]:
    """Wh imported (T1, T2) and exported (T1, T2) in quarter q, from the model's counters."""
    a, b = h.truth[q], h.truth[q + 900]
    return (b.import_wh[0] - a.import_wh[0], b.import_wh[1] - a.import_wh[1],
            b.export_wh[0] - a.export_wh[0], b.export_wh[1] - a.export_wh[1])


def quarter_cost(c: dict, h: History, q: int, prices) -> dict[str, float] | None:
    """The contract's formula for one quarter, written out; None when a price is missing."""
    i1, i2, x1, x2 = registers(h, q)
    imported, exported = (i1 + i2) / 1000, (x1 + x2) / 1000  # kWh
    off, inj = c["offtake"], c["injection"]
    if off["kind"] == "dynamic":
        p = spot(prices, q, off.get("basis", "quarter_hour"))
        if p is None:
            return None
        energy = imported * (off["factor"] * p / 1000 + off["adder_eur_kwh"])
    else:  # day_night: the meter's registers say which price each kWh gets
        energy = i1 / 1000 * off["t1_eur_kwh"] + i2 / 1000 * off["t2_eur_kwh"]
    if inj["kind"] == "dynamic":
        p = spot(prices, q, inj.get("basis", "quarter_hour"))
        if p is None:
            return None
        injection = exported * (inj["factor"] * p / 1000 - inj["fee_eur_kwh"])
    else:
        injection = exported * inj["price_eur_kwh"]
    grid = imported * (c["grid"]["distribution_eur_kwh"] + c["grid"]["transmission_eur_kwh"])
    levies = imported * c["levies_eur_kwh"]
    vat = VAT * (energy + grid + levies)
    return {"energy_eur": energy, "grid_eur": grid, "levies_eur": levies, "vat_eur": vat,
            "injection_eur": injection, "total_eur": energy + grid + levies + vat - injection,
            "import_kwh": imported, "export_kwh": exported}


def summed(parts: list[dict[str, float]]) -> dict[str, float]:
    return {k: sum(p[k] for p in parts) for k in parts[0]}


def day_cost(c: dict, h: History, day: date, prices) -> dict[str, float]:
    start, end = day_bounds(day)
    out = summed([quarter_cost(c, h, q, prices) for q in range(start, end, 900)])
    fixed = (c["data_management_eur_year"] + c["fixed_eur_year"]) / 365  # 2025, 2026: 365 days
    out["fixed_eur"] = fixed
    out["vat_eur"] += VAT * fixed
    out["total_eur"] += fixed * (1 + VAT)
    return out


def month_peak_w(h: History, days: list[date]) -> float:
    """The capacity tariff's peak: the highest quarter-hour import x 4, from the counters."""
    return max(4.0 * sum(registers(h, q)[:2]) for day in days
               for q in range(*day_bounds(day), 900))


def ledger(server: InfluxServer, db: str, measurement: str) -> dict[tuple[str, int], dict]:
    answer = server.query(f'SELECT * FROM "{db}"."ledger"."{measurement}"', db=db)
    rows = {}
    for series in answer["results"][0].get("series", []):
        for values in series["values"]:
            row = dict(zip(series["columns"], values, strict=True))
            rows[(row["period"], row["time"])] = row
    return rows


def assert_cost(row: dict, expected: dict[str, float]) -> None:
    assert row["missing"] == 0, row
    for name, value in expected.items():
        assert row[name] == pytest.approx(value, abs=1e-9), (row["period"], row["time"], name)


def settings_for(server: InfluxServer, db: str, tmp_path: Path, tariff: list[dict],
                 url: str = "https://example.invalid/api") -> Settings:
    return Settings(installation=INSTALLATION, local={"enabled": False},
                    influx={"url": server.url, "database": db, "timeout": 30.0},
                    outbox={"path": tmp_path / "outbox.sqlite"},
                    ledger={"gap": 600, "source": "p1"},
                    prices={"url": url, "token": TOKEN}, tariff=tariff)


def load(server: InfluxServer, db: str, lines: list[str]) -> None:
    for i in range(0, len(lines), 5000):
        server.write(db, "\n".join(lines[i:i + 5000]))


def build(settings: Settings, first: date, last: date) -> None:
    """The ledger, then the costs, of [first, last], as the two commands build them."""
    since, until = at(first.year, first.month, first.day), at(last.year, last.month, last.day)
    result = asyncio.run(build_history(settings, since, until + timedelta(days=1), False))
    assert result.left == 0
    report, delivered = asyncio.run(build_costs(settings, first, last))
    assert delivered.left == 0 and report.points > 0


def fetch(settings: Settings, first: date, last: date) -> None:
    """The prices of [first, last] from the simulator's Transparency Platform."""
    async def go():
        config = SimulatorConfig(seed=PRICE_SEED, entsoe_token=TOKEN, speed=0.0,
                                 start=at(2026, 11, 1))
        async with Simulator(config) as sim:
            fetched = settings.model_copy(update={"prices": settings.prices.model_copy(
                update={"url": sim.entsoe_url})})
            return await fetch_prices(fetched, day_bounds(first)[0], day_bounds(last)[1])
    assert asyncio.run(go()).delivered.left == 0


# -- 30 September and 1 October 2025: hourly, then quarter-hourly prices; a month end ----------


@pytest.fixture(scope="module")
def switch_history() -> History:
    return simulate(at(2025, 9, 29, 23, 50), at(2025, 10, 2, 0, 10), step=300, seed=5,
                    power_flow=True)


def test_every_period_across_the_switch_to_quarter_hours_and_a_month_end_costs_the_formula(
        switch_history, influxd, influx_db, tmp_path):
    h = switch_history
    load(influxd, influx_db, h.lines)
    settings = settings_for(influxd, influx_db, tmp_path, [DYNAMIC])
    fetch(settings, date(2025, 9, 30), date(2025, 10, 1))
    build(settings, date(2025, 9, 30), date(2025, 10, 1))
    rows = ledger(influxd, influx_db, "ledger_cost")
    prices = market(date(2025, 9, 30), date(2025, 10, 1))
    days = (date(2025, 9, 30), date(2025, 10, 1))
    start, end = day_bounds(days[0])[0], day_bounds(days[1])[1]
    assert sorted(t for k, t in rows if k == "15m") == list(range(start, end, 900))
    for q in range(start, end, 900):
        assert_cost(rows[("15m", q)], quarter_cost(DYNAMIC, h, q, prices))
    for hour in range(start, end, 3600):
        assert_cost(rows[("1h", hour)], summed([quarter_cost(DYNAMIC, h, hour + i * 900, prices)
                                                for i in range(4)]))
    # An hour whose four quarter prices differ: the quarter-hour contract is not the hourly one.
    hourly = {**DYNAMIC, "offtake": {**DYNAMIC["offtake"], "basis": "hourly_average"}}

    def energy(contract: dict, hour: int) -> float:
        return sum(quarter_cost(contract, h, hour + i * 900, prices)["energy_eur"]
                   for i in range(4))

    hour = max(range(day_bounds(days[1])[0], end, 3600),
               key=lambda hr: abs(energy(DYNAMIC, hr) - energy(hourly, hr)))
    assert len({prices[(900, hour + i * 900)] for i in range(4)}) > 1
    assert abs(energy(DYNAMIC, hour) - energy(hourly, hour)) > 1e-4  # not rounding noise
    assert rows[("1h", hour)]["energy_eur"] == pytest.approx(energy(DYNAMIC, hour), abs=1e-9)
    # Days add their fixed fees; each month (one day of each here) its capacity tariff, on the
    # 12-month mean of the monthly peaks (at least 2.5 kW): September alone, then both.
    for day in days:
        assert_cost(rows[("1d", day_bounds(day)[0])], day_cost(DYNAMIC, h, day, prices))
    billed = [max(2500.0, month_peak_w(h, [d])) for d in days]
    for n, (day, mean) in enumerate(zip(days, (billed[0], sum(billed) / 2), strict=True)):
        capacity = mean / 1000 * 49.40 / 12 / (30 if n == 0 else 31)
        expected = day_cost(DYNAMIC, h, day, prices)
        expected["capacity_eur"] = capacity
        expected["vat_eur"] += VAT * capacity
        expected["total_eur"] += capacity * (1 + VAT)
        assert_cost(rows[("1mo", day_bounds(day.replace(day=1))[0])], expected)
    savings_equal_the_counterfactual_houses(h, influxd, influx_db, days, prices)


def hold(h: History, q: int) -> tuple[float, float, float]:
    """Wh the grid would have imported and exported in quarter q without the battery, and the
    load (without solar and battery), from the power_flow samples, each held until the next."""
    imported = exported = load_wh = 0.0
    for i, (t, grid, battery, solar, _car) in enumerate(h.flows):
        end = min(t + 300, h.flows[i + 1][0]) if i + 1 < len(h.flows) else t + 300
        seconds = max(0, min(end, q + 900) - max(t, q))
        imported += max(grid + battery, 0) * seconds / 3600
        exported += max(-(grid + battery), 0) * seconds / 3600
        load_wh += max(grid + battery + solar, 0) * seconds / 3600
    return round(imported), round(exported), round(load_wh)


def savings_equal_the_counterfactual_houses(h, influxd, db, days, prices) -> None:
    """Without the battery the grid carries grid + battery; without solar too, the whole load:
    costed with the same contract, the difference is what each was worth (estimates)."""
    rows = ledger(influxd, db, "ledger_savings")
    cost = ledger(influxd, db, "ledger_cost")
    off, inj, grid = DYNAMIC["offtake"], DYNAMIC["injection"], DYNAMIC["grid"]
    per_kwh = grid["distribution_eur_kwh"] + grid["transmission_eur_kwh"] + DYNAMIC[
        "levies_eur_kwh"]

    def bill(q: int, imported_wh: float, exported_wh: float) -> float:
        p = spot(prices, q, "quarter_hour")
        pays = imported_wh / 1000 * (off["factor"] * p / 1000 + off["adder_eur_kwh"] + per_kwh)
        earns = exported_wh / 1000 * (inj["factor"] * p / 1000 - inj["fee_eur_kwh"])
        return pays * (1 + VAT) - earns

    for day in days:
        battery = solar = injection = 0.0
        peak = 0.0
        for q in range(*day_bounds(day), 900):
            imported, exported, load_wh = hold(h, q)
            row = cost[("15m", q)]  # a quarter's counterfactual energies are on its cost point
            assert (row["import_no_battery_kwh"], row["export_no_battery_kwh"],
                    row["import_no_solar_kwh"]) == (imported / 1000, exported / 1000,
                                                    load_wh / 1000)
            battery += bill(q, imported, exported) - row["total_eur"]
            solar += bill(q, load_wh, 0) - bill(q, imported, exported)
            p = spot(prices, q, "quarter_hour")
            injection += exported / 1000 * (inj["factor"] * p / 1000 - inj["fee_eur_kwh"])
            peak = max(peak, 4.0 * imported)
        day_row = rows[("1d", day_bounds(day)[0])]
        assert day_row["battery_eur"] == pytest.approx(battery, abs=1e-9)
        assert day_row["battery_arbitrage_eur"] == pytest.approx(battery, abs=1e-9)
        assert day_row["solar_eur"] == pytest.approx(solar, abs=1e-9)
        assert day_row["solar_injection_eur"] == pytest.approx(injection, abs=1e-9)
        assert day_row["solar_avoided_import_eur"] == pytest.approx(solar - injection, abs=1e-9)
        assert day_row["peak_no_battery_w"] == peak
    # Per month the battery also lowered the capacity tariff: the counterfactual's own monthly
    # peaks (at least 2.5 kW), averaged like the real ones (September alone, then both).
    real = [max(2500.0, month_peak_w(h, [d])) for d in days]
    alone = [max(2500.0, max(4.0 * hold(h, q)[0] for q in range(*day_bounds(d), 900)))
             for d in days]
    for n, day in enumerate(days):
        month = rows[("1mo", day_bounds(day.replace(day=1))[0])]
        means = (alone[0], real[0]) if n == 0 else (sum(alone) / 2, sum(real) / 2)
        share = 49.40 / 12 / (30 if n == 0 else 31) * (1 + VAT) / 1000
        assert month["mean_12m_no_battery_w"] == pytest.approx(means[0], abs=1e-9)
        assert month["battery_capacity_eur"] == pytest.approx((means[0] - means[1]) * share,
                                                              abs=1e-9)
        day_row = rows[("1d", day_bounds(day)[0])]
        assert month["battery_eur"] == pytest.approx(
            day_row["battery_eur"] + month["battery_capacity_eur"], abs=1e-9)
    assert any(row["battery_eur"] > 0 for (k, _), row in rows.items() if k == "1d")


# -- the autumn DST day and a contract switch the day after, mid-month --------------------------

HOURLY_UNTIL_27 = {**DYNAMIC, "valid_until": "2025-10-27",
                   "offtake": {**DYNAMIC["offtake"], "basis": "hourly_average"}}
DAY_NIGHT_FROM_27 = {
    "valid_from": "2025-10-27", "name": "fixed day/night",
    "offtake": {"kind": "day_night", "t1_eur_kwh": 0.1410, "t2_eur_kwh": 0.1120},
    "injection": {"kind": "single", "price_eur_kwh": 0.0280},
    "grid": {"distribution_eur_kwh": 0.0601, "transmission_eur_kwh": 0.0},
    "levies_eur_kwh": 0.0610, "capacity_eur_kw_year": 54.20,
    "data_management_eur_year": 18.50, "fixed_eur_year": 60.0, "vat_pct": 6.0,
}


def test_the_25_hour_day_and_a_contract_switch_mid_month_cost_each_day_by_its_contract(
        influxd, influx_db, tmp_path):
    h = simulate(at(2025, 10, 25, 23, 50), at(2025, 10, 28, 0, 10), step=300, seed=5)
    load(influxd, influx_db, h.lines)
    settings = settings_for(influxd, influx_db, tmp_path, [HOURLY_UNTIL_27, DAY_NIGHT_FROM_27])
    fetch(settings, date(2025, 10, 26), date(2025, 10, 27))
    build(settings, date(2025, 10, 26), date(2025, 10, 27))
    rows = ledger(influxd, influx_db, "ledger_cost")
    prices = market(date(2025, 10, 26), date(2025, 10, 27))
    sunday, monday = date(2025, 10, 26), date(2025, 10, 27)
    assert len(range(*day_bounds(sunday), 900)) == 100
    for day, contract in ((sunday, HOURLY_UNTIL_27), (monday, DAY_NIGHT_FROM_27)):
        for q in range(*day_bounds(day), 900):
            assert_cost(rows[("15m", q)], quarter_cost(contract, h, q, prices))
            assert rows[("15m", q)]["contract_from_s"] == day_bounds(
                date.fromisoformat(contract["valid_from"]))[0]
        assert_cost(rows[("1d", day_bounds(day)[0])], day_cost(contract, h, day, prices))
    assert rows[("15m", day_bounds(sunday)[0])]["price_basis_s"] == 3600
    assert rows[("15m", day_bounds(monday)[0])]["price_basis_s"] == 0  # fixed: no market price
    # October holds two days, each paying 1/31 of the month's capacity at its contract's price.
    mean = max(2500.0, month_peak_w(h, [sunday, monday]))
    capacity = mean / 1000 * (49.40 + 54.20) / 12 / 31
    expected = summed([day_cost(HOURLY_UNTIL_27, h, sunday, prices),
                       day_cost(DAY_NIGHT_FROM_27, h, monday, prices)])
    expected["capacity_eur"] = capacity
    expected["vat_eur"] += VAT * capacity
    expected["total_eur"] += capacity * (1 + VAT)
    assert_cost(rows[("1mo", day_bounds(date(2025, 10, 1))[0])], expected)


# -- a tariff change on 1 January --------------------------------------------------------------

NEW_YEAR = {**DYNAMIC, "valid_from": "2026-01-01", "name": "2026",
            "grid": {"distribution_eur_kwh": 0.0577, "transmission_eur_kwh": 0.0051},
            "levies_eur_kwh": 0.0581, "capacity_eur_kw_year": 53.61}


def test_the_quarter_hours_of_new_years_eve_and_new_years_day_take_their_years_prices(
        influxd, influx_db, tmp_path):
    h = simulate(at(2025, 12, 31, 22, 50), at(2026, 1, 1, 1, 10), step=300, seed=5)
    load(influxd, influx_db, h.lines)
    settings = settings_for(influxd, influx_db, tmp_path, [NEW_YEAR, DYNAMIC])  # any order
    fetch(settings, date(2025, 12, 31), date(2026, 1, 1))
    build(settings, date(2025, 12, 31), date(2026, 1, 1))
    rows = ledger(influxd, influx_db, "ledger_cost")
    prices = market(date(2025, 12, 31), date(2026, 1, 1))
    midnight = ts(2026, 1, 1)
    quarters = sorted(t for k, t in rows if k == "15m")
    assert quarters == list(range(midnight - 3600, midnight + 3600, 900))
    for q in quarters:
        contract = DYNAMIC if q < midnight else NEW_YEAR
        assert_cost(rows[("15m", q)], quarter_cost(contract, h, q, prices))
    assert rows[("15m", midnight - 900)]["grid_eur"] != pytest.approx(
        quarter_cost(NEW_YEAR, h, midnight - 900, prices)["grid_eur"], abs=1e-9)


# -- the spring DST day: a missing hour of prices, negative injection prices -------------------


def csv_of(prices: dict[tuple[int, int], float], leave_out: range) -> str:
    lines = ["start,price_eur_mwh"]
    for (_res, t), p in sorted(prices.items(), key=lambda kv: kv[0][1]):
        if t not in leave_out:
            lines.append(f"{datetime.fromtimestamp(t, BRUSSELS).isoformat()},{p}")
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def spring_history() -> History:
    return simulate(at(2026, 3, 28, 23, 50), at(2026, 3, 30, 0, 10), step=300, seed=5,
                    power_flow=True)


def test_the_23_hour_day_with_a_missing_hour_is_marked_missing_never_costed_as_0(
        spring_history, influxd, influx_db, tmp_path):
    h = spring_history
    day = date(2026, 3, 29)
    start, end = day_bounds(day)
    assert (end - start) // 900 == 92
    load(influxd, influx_db, h.lines)
    settings = settings_for(influxd, influx_db, tmp_path, [DYNAMIC])
    prices = market(day)
    hole = range(ts(2026, 3, 29, 10), ts(2026, 3, 29, 11), 900)
    (tmp_path / "prices.csv").write_text(csv_of(prices, hole))
    asyncio.run(import_prices(settings, tmp_path / "prices.csv"))
    build(settings, day, day)
    rows = ledger(influxd, influx_db, "ledger_cost")
    negative = 0
    for q in range(start, end, 900):
        row = rows[("15m", q)]
        if q in hole:
            assert row["missing"] == 1 and row["total_eur"] is None and row["energy_eur"] is None
            continue
        expected = quarter_cost(DYNAMIC, h, q, prices)
        assert_cost(row, expected)
        if expected["export_kwh"] and prices[(900, q)] / 1000 < DYNAMIC["injection"][
                "fee_eur_kwh"]:
            assert row["injection_eur"] < 0  # injecting cost money in that quarter
            negative += 1
    assert negative, "the simulated Sunday has quarters that cost money to inject"
    for key in (("1h", hole.start), ("1d", start), ("1mo", ts(2026, 3, 1))):
        assert rows[key]["missing"] == 1 and rows[key]["missing_quarters"] == 4, key
        assert rows[key]["total_eur"] is None, key
    offtake_only_dynamic_is_missing_there_too(settings, day, hole)
    savings = ledger(influxd, influx_db, "ledger_savings")
    assert savings[("1d", start)]["missing"] == 1
    assert savings[("1d", start)].get("battery_eur") is None  # never 0
    report_shows_the_missing_hour(influxd, influx_db, tmp_path, rows, hole)


def offtake_only_dynamic_is_missing_there_too(settings: Settings, day: date, hole: range
                                              ) -> None:
    """A contract whose only day-ahead component is the offtake (injection at a fixed price)
    is missing in the same hour: computed by the cost command's builder, nothing written."""
    from logger.app.cost_build import CostBuilder
    from logger.app.ledger_job import make_reads
    from logger.sink.influxql import InfluxQL

    fixed_injection = {**DYNAMIC, "injection": {"kind": "single", "price_eur_kwh": 0.03}}
    other = settings.model_copy(update={"tariff": Settings(tariff=[fixed_injection]).tariff})

    async def go():
        ql = InfluxQL(other.influx)
        try:
            builder = CostBuilder(other, make_reads(other, ql), lambda points: None, True)
            return await builder.run(day, day)
        finally:
            await ql.close()

    quarters = {r.start: r for r in asyncio.run(go()).rows if r.kind == "15m"}
    assert [q for q, r in sorted(quarters.items()) if r.missing] == list(hole)
    assert all(quarters[q].charges.total == 0.0 for q in hole)  # no charges: not costed


def report_shows_the_missing_hour(influxd, db, tmp_path, rows, hole) -> None:
    """`report --cost`: 80 columns, the missing hour as `price?` (never 0), its fill-in hint,
    and the hours' totals adding up to the costed quarters."""
    import re

    from harness import write_config

    from logger.cli.main import main

    config = write_config(tmp_path / "config.toml", {
        "local": {"enabled": False},
        "influx": {"url": influxd.url, "database": db},
        "outbox": {"path": str(tmp_path / "report.sqlite")},
    }, installation=INSTALLATION)
    config.write_text(config.read_text() + TARIFF_TOML)
    out = []
    for args in (["--day", "2026-03-29"], ["--month", "2026-03"]):
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            assert main(["report", "-c", str(config), "--cost", *args]) == 0
        out.append(buffer.getvalue())
    day, month = out
    assert all(len(line) <= 80 for text in out for line in text.splitlines())
    hours = [line for line in day.splitlines() if re.match(r"^\s*\d\d:\d\d ", line)]
    assert len(hours) == 23  # the 23-hour day
    [ten] = [line for line in hours if line.split()[0] == "10:00"]
    assert "price?" in ten and "0.00" not in ten.split()[3:]
    eleven = next(line for line in hours if line.split()[0] == "11:00")
    assert eleven.split()[-2] == f"{rows[('1h', hole.stop)]['total_eur']:.2f}"
    for text in out:
        assert "Missing: 4 quarter-hour(s)" in text and "prices fetch --since 2026-03-29" in text
    assert "Sun 29" in month and "price?" in month.split("Sun 29")[1].splitlines()[0]


TARIFF_TOML = """[[tariff]]
valid_from = 2025-01-01
capacity_eur_kw_year = 49.40
data_management_eur_year = 17.85
fixed_eur_year = 95.0
levies_eur_kwh = 0.064331
offtake = {kind = "dynamic", factor = 1.039, adder_eur_kwh = 0.008702}
injection = {kind = "dynamic", factor = 1.0, fee_eur_kwh = 0.013135}
grid = {distribution_eur_kwh = 0.050503, transmission_eur_kwh = 0.0042}
"""


def job_run(settings: Settings, tmp_path: Path, now: int) -> set[tuple[str, str, int]]:
    """One run of the service's cost job; what it wrote: (measurement, period, start)."""
    import logging

    from logger.app.cost_job import CostJob
    from logger.app.delivery import Delivery, deliver_all
    from logger.core.problems import Problems
    from logger.outbox import Outbox
    from logger.sink.gate import SinkGate
    from logger.sink.targets import ledger_influx, make_routed_writer

    async def go():
        outbox = Outbox(tmp_path / "job.sqlite")
        job = CostJob(settings, outbox, Problems(logging.getLogger("test")))
        try:
            await job.run(now=now)
            outbox.commit()
            lines = list(outbox.iter_lines())
            delivery = Delivery(outbox, make_routed_writer(settings), 5000)
            await deliver_all(outbox, SinkGate(settings.influx, ledger_influx(settings)),
                              delivery, 60)
            await delivery.writer.close()
            return lines
        finally:
            await job.close()
            outbox.close()

    written = set()
    for line in asyncio.run(go()):
        key, _, rest = line.partition(" ")
        tags = dict(part.split("=", 1) for part in key.split(",")[1:])
        written.add((key.split(",")[0], tags["period"], int(rest.rsplit(" ", 1)[1])))
    return written


def test_late_prices_and_late_energy_rewrite_exactly_the_periods_they_change(
        spring_history, influxd, influx_db, tmp_path):
    h = spring_history
    day = date(2026, 3, 29)
    start, _end = day_bounds(day)
    load(influxd, influx_db, h.lines)
    settings = settings_for(influxd, influx_db, tmp_path, [DYNAMIC])
    prices = market(day)
    hole = range(ts(2026, 3, 29, 10), ts(2026, 3, 29, 11), 900)
    (tmp_path / "prices.csv").write_text(csv_of(prices, hole))
    asyncio.run(import_prices(settings, tmp_path / "prices.csv"))
    build(settings, day, day)
    now = ts(2026, 3, 30, 0, 30)
    assert job_run(settings, tmp_path, now) == set()  # nothing changed: nothing written

    (tmp_path / "late.csv").write_text(csv_of({k: v for k, v in prices.items() if k[1] in hole},
                                              range(0)))
    asyncio.run(import_prices(settings, tmp_path / "late.csv"))
    month = ts(2026, 3, 1)
    touched = {("15m", q) for q in hole} | {("1h", hole.start), ("1d", start), ("1mo", month)}
    assert job_run(settings, tmp_path, now) == (
        {("ledger_cost", *k) for k in touched}
        | {("ledger_savings", *k) for k in touched if k[0] in ("1d", "1mo")})
    rows = ledger(influxd, influx_db, "ledger_cost")
    for q in hole:
        assert_cost(rows[("15m", q)], quarter_cost(DYNAMIC, h, q, prices))
    assert_cost(rows[("1d", start)], day_cost(DYNAMIC, h, day, prices))

    # A recomputed ledger quarter (late meter data) with 0.25 kWh more import at 19:15.
    q = ts(2026, 3, 29, 19, 15)
    energy = ledger(influxd, influx_db, "ledger_energy")[("15m", q)]
    influxd.write(influx_db, f"ledger_energy,installation={INSTALLATION},period=15m "
                  f"import_t1_kwh={energy['import_t1_kwh'] + 0.25} {q}", rp="ledger")
    touched = {("15m", q), ("1h", q - q % 3600), ("1d", start), ("1mo", month)}
    assert job_run(settings, tmp_path, now) == (
        {("ledger_cost", *k) for k in touched}
        | {("ledger_savings", *k) for k in touched if k[0] in ("1d", "1mo")})
    assert ledger(influxd, influx_db, "ledger_cost")[("15m", q)]["import_kwh"] == pytest.approx(
        energy["import_kwh"] + 0.25, abs=1e-9)
