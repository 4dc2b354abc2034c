"""The ledger against the simulator's ground truth (its integer-joule counters), through a real
influxd: a run that crosses the spring DST change (a 23-hour day) and a month boundary.

History: `tests/ledger_data.py` (telegrams decoded by the product's P1 decoder, inverter and
battery polls parsed by the product's local parser), one reading every 5 minutes, so every
quarter boundary has a reading. The ledger is built by the `ledger` command's own function and
delivered through the outbox, then read back from its retention policy.
"""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import datetime
from pathlib import Path

import pytest
from harness import write_config
from ledger_data import INSTALLATION, History, simulate

from logger.app.delivery import Delivery, deliver_all
from logger.app.ledger_job import JobResult, LedgerJob, build_history
from logger.cli.main import main
from logger.config import Settings
from logger.core.belgian_time import BRUSSELS, day_bounds
from logger.core.problems import Problems
from logger.outbox import Outbox
from logger.sink.gate import SinkGate
from logger.sink.targets import ledger_influx, make_routed_writer
from logger.testbed.influxd import InfluxServer
from logger.testbed.simulator.model import InstallationFeatures

pytestmark = pytest.mark.integration

START = datetime(2027, 3, 27, 23, tzinfo=BRUSSELS)  # an hour before the first ledger day
FIRST_DAY = datetime(2027, 3, 28, tzinfo=BRUSSELS)  # 23 hours: summer time starts at 02:00
APRIL = datetime(2027, 4, 1, tzinfo=BRUSSELS)
END = datetime(2027, 4, 2, tzinfo=BRUSSELS)
STEP = 300
# The gap of the gap tests: off every boundary, inside one Belgian day (2027-03-30).
GAP = (int(datetime(2027, 3, 30, 10, 7, tzinfo=BRUSSELS).timestamp()),
       int(datetime(2027, 3, 30, 13, 52, tzinfo=BRUSSELS).timestamp()))


@pytest.fixture(scope="module")
def history() -> History:
    return simulate(START, END, step=STEP, seed=5)  # seed 5: the car charges on 31 March, 1 April


@pytest.fixture(scope="module")
def no_battery_history() -> History:
    """A day of April without a battery: while the car charges at 11 kW the house load still
    shows in the grid, so no two quarters tie within the register resolution (with a battery
    covering the house, every charging quarter is 11 kW to the watt: any of them is "the" peak).
    """
    start = datetime(2027, 3, 31, 23, tzinfo=BRUSSELS)
    return simulate(start, END, step=STEP, seed=5,
                    features=InstallationFeatures(charger=True, battery=False))


def settings_for(server: InfluxServer, db: str, tmp_path: Path) -> Settings:
    return Settings(installation=INSTALLATION, local={"enabled": False},
                    influx={"url": server.url, "database": db, "timeout": 30.0},
                    outbox={"path": tmp_path / "outbox.sqlite"},
                    ledger={"gap": 2 * STEP, "source": "p1"})


def load(server: InfluxServer, db: str, lines: list[str]) -> None:
    for i in range(0, len(lines), 5000):
        server.write(db, "\n".join(lines[i:i + 5000]))


def in_gap(line: str) -> bool:
    t = int(line.rsplit(" ", 1)[1])
    return GAP[0] <= t < GAP[1]


def ledger(server: InfluxServer, db: str, measurement: str = "ledger_energy") -> list[dict]:
    answer = server.query(f'SELECT * FROM "{db}"."ledger"."{measurement}"', db=db)
    rows = []
    for series in answer["results"][0].get("series", []):
        rows += [dict(zip(series["columns"], v, strict=True)) for v in series["values"]]
    return rows


def build(settings: Settings, since: datetime = FIRST_DAY) -> None:
    result = asyncio.run(build_history(settings, since, END, dry_run=False))
    assert result.left == 0 and result.delivered > 0


async def update(settings: Settings, tmp_path: Path, now: int) -> JobResult:
    """One run of the service's ledger job at `now`, its points delivered."""
    outbox = Outbox(tmp_path / "job.sqlite")
    job = LedgerJob(settings, outbox, Problems(logging.getLogger("test")))
    try:
        result = await job.run(now=now)
        delivery = Delivery(outbox, make_routed_writer(settings), 5000)
        await deliver_all(outbox, SinkGate(settings.influx, ledger_influx(settings)),
                          delivery, 60)
        await delivery.writer.close()
        return result
    finally:
        await job.close()
        outbox.close()


def truth_fields(h: History, start: int, end: int) -> dict[str, float]:
    a, b = h.truth[start], h.truth[end]
    out = {
        "import_t1_kwh": (b.import_wh[0] - a.import_wh[0]) / 1000,
        "import_t2_kwh": (b.import_wh[1] - a.import_wh[1]) / 1000,
        "export_t1_kwh": (b.export_wh[0] - a.export_wh[0]) / 1000,
        "export_t2_kwh": (b.export_wh[1] - a.export_wh[1]) / 1000,
        "solar_kwh": (sum(b.solar_wh) - sum(a.solar_wh)) / 1000,
        "battery_charged_kwh": (b.charged_wh - a.charged_wh) / 1000,
        "battery_discharged_kwh": (b.discharged_wh - a.discharged_wh) / 1000,
    }
    if end - start >= 3600:
        out["gas_m3"] = (b.gas_l - a.gas_l) / 1000
    return out


def period_end(row: dict) -> int:
    start, period = row["time"], row["period"]
    if period == "15m":
        return start + 900
    if period == "1h":
        return start + 3600
    if period == "1d":
        return day_bounds(datetime.fromtimestamp(start, BRUSSELS).date())[1]
    raise AssertionError(period)


def assert_equals_truth(h: History, row: dict) -> None:
    end = period_end(row)
    for name, value in truth_fields(h, row["time"], end).items():
        assert row[name] == pytest.approx(value, abs=1e-9), (row["period"], row["time"], name)


def test_every_period_equals_the_ground_truth_across_dst_and_a_month_boundary(
        history, influxd, influx_db, tmp_path):
    load(influxd, influx_db, history.lines)
    build(settings_for(influxd, influx_db, tmp_path))
    rows = ledger(influxd, influx_db)
    by_period: dict[str, list[dict]] = {}
    for row in rows:
        by_period.setdefault(row["period"], []).append(row)
    first, end = int(FIRST_DAY.timestamp()), int(END.timestamp())
    # 2027-03-28 has 23 hours; 28, 29, 30, 31 March and 1 April: 119 hours, 476 quarters.
    assert (end - first) // 3600 == 119
    assert [r["time"] for r in by_period["15m"]] == list(range(first, end, 900))
    assert [r["time"] for r in by_period["1h"]] == list(range(first, end, 3600))
    assert [r["time"] for r in by_period["1d"]] == [
        day_bounds(datetime(2027, m, d).date())[0] for m, d in
        ((3, 28), (3, 29), (3, 30), (3, 31), (4, 1))]
    for row in (*by_period["15m"], *by_period["1h"], *by_period["1d"]):
        assert_equals_truth(history, row)
        assert row["estimated"] == 0 and row["coverage_pct"] == 100.0
    dst_day = by_period["1d"][0]
    assert period_end(dst_day) - dst_day["time"] == 23 * 3600
    # Months: March holds the 4 days this history has of it; April its first day.
    march, april = by_period["1mo"]
    assert (march["days"], april["days"]) == (4, 1)
    for month, (a, b) in ((march, (FIRST_DAY, APRIL)), (april, (APRIL, END))):
        for name, value in truth_fields(history, int(a.timestamp()), int(b.timestamp())).items():
            assert month[name] == pytest.approx(value, abs=1e-9), name
    # Derived fields follow their definitions, and the KPIs stay within 0-100 %.
    for row in rows:
        consumption = (row["import_kwh"] - row["export_kwh"] + row["solar_kwh"]
                       + row["battery_discharged_kwh"] - row["battery_charged_kwh"])
        assert row["consumption_kwh"] == pytest.approx(consumption, abs=1e-9)
        if row["period"] == "15m":
            assert row["demand_w"] == pytest.approx(row["import_kwh"] * 4000, abs=1e-6)
        for kpi in ("self_consumption_pct", "self_sufficiency_pct"):
            if row.get(kpi) is not None:
                assert 0.0 <= row[kpi] <= 100.0


def test_the_monthly_peak_equals_the_meters_own_peak_value_and_quarter(
        no_battery_history, influxd, influx_db, tmp_path):
    history = no_battery_history
    load(influxd, influx_db, history.lines)
    build(settings_for(influxd, influx_db, tmp_path), since=APRIL)
    peaks = {r["time"]: r for r in ledger(influxd, influx_db, "ledger_peak")}
    april = peaks[int(APRIL.timestamp())]
    meter = history.truth[int(END.timestamp())]  # 1.6.0 at the end of the history
    assert meter.peak_w > 5000  # a car charging at 11 kW: a real peak, not the floor
    # The simulated meter stamps a peak at the end of its quarter-hour.
    assert april["peak_start_s"] == meter.peak_t - 900
    # Quarter energy has 1 Wh resolution (4 W of demand); the meter rounds to 1 W.
    assert abs(april["peak_w"] - meter.peak_w) <= 4
    assert april["meter_peak_w"] == meter.peak_w and april["meter_peak_s"] == meter.peak_t
    assert abs(april["meter_diff_w"]) <= 4
    assert april["billed_w"] == april["peak_w"]
    assert april["months_in_mean"] == 1 and april["mean_12m_w"] == april["billed_w"]


def test_a_gap_keeps_totals_exact_and_marks_the_periods_inside_estimated(
        history, influxd, influx_db, tmp_path):
    load(influxd, influx_db, [line for line in history.lines if not in_gap(line)])
    build(settings_for(influxd, influx_db, tmp_path))
    rows = ledger(influxd, influx_db)
    quarters = [r for r in rows if r["period"] == "15m"]
    inside = [q for q in quarters if q["time"] < GAP[1] and q["time"] + 900 > GAP[0]]
    assert len(inside) == 16  # 10:00 .. 14:00 (the readings at 10:05 and 13:55 bracket it)
    assert all(q["estimated"] == 1 and q["coverage_pct"] < 100 for q in inside)
    for q in quarters:
        if q not in inside:
            assert_equals_truth(history, q)
            assert q["estimated"] == 0
    for name in ("import_t1_kwh", "import_t2_kwh", "export_t1_kwh", "solar_kwh",
                 "battery_charged_kwh", "battery_discharged_kwh"):
        total = sum(q[name] for q in inside)
        expected = truth_fields(history, inside[0]["time"], inside[-1]["time"] + 900)[name]
        assert total == pytest.approx(expected, abs=1e-9), name
    day = next(r for r in rows if r["period"] == "1d" and r["time"] <= GAP[0] < period_end(r))
    assert_equals_truth(history, day)  # both ends are exact readings: exact, not estimated
    assert day["estimated"] == 0 and day["coverage_pct"] < 100


def test_late_data_recomputes_exactly_the_days_and_periods_it_touched(
        history, influxd, influx_db, tmp_path):
    settings = settings_for(influxd, influx_db, tmp_path)
    load(influxd, influx_db, [line for line in history.lines if not in_gap(line)])
    build(settings, since=START)  # every day the job's recheck window sees
    before = {(r["period"], r["time"]): r for r in ledger(influxd, influx_db)}
    load(influxd, influx_db, [line for line in history.lines if in_gap(line)])  # arrives late

    days = asyncio.run(update(settings, tmp_path, int(END.timestamp()) + 60)).days
    assert [d.isoformat() for d in days] == ["2027-03-30", "2027-04-02"]  # + today, always
    after = {(r["period"], r["time"]): r for r in ledger(influxd, influx_db)}
    assert after.keys() == before.keys()  # overwritten, never duplicated
    fields = ("import_t1_kwh", "import_t2_kwh", "export_t1_kwh", "export_t2_kwh",
              "solar_kwh", "estimated")
    changed = {k for k in after if any(after[k][f] != before[k][f] for f in fields)}
    touched = {k for k in after if k[0] in ("15m", "1h")
               and k[1] < GAP[1] and k[1] + (900 if k[0] == "15m" else 3600) > GAP[0]}
    assert changed == touched
    for key, row in after.items():
        if key[0] != "1mo":
            assert_equals_truth(history, row)
            assert row["estimated"] == 0


def test_from_the_local_meter_every_period_is_within_its_float32_resolution(
        influxd, influx_db, tmp_path):
    """P1 off: the box's float32 registers (about 2 Wh apart above 16,384 kWh) are the source;
    each boundary is off by at most one float32 step rounded to Wh, so a period by 2 Wh."""
    start, end = datetime(2027, 3, 27, 23, tzinfo=BRUSSELS), datetime(2027, 3, 29, tzinfo=BRUSSELS)
    history = simulate(start, end, step=STEP, seed=3, local_meter=True)  # t2 above 16,384 kWh
    assert any(line.startswith("meter,") for line in history.lines)
    assert not any(line.startswith("p1,") for line in history.lines)
    load(influxd, influx_db, history.lines)
    settings = settings_for(influxd, influx_db, tmp_path)
    settings.ledger.source = "auto"  # no P1 readings: the meter
    result = asyncio.run(build_history(settings, FIRST_DAY, end, dry_run=False))
    assert result.left == 0
    rows = ledger(influxd, influx_db)
    assert {r["period"] for r in rows} == {"15m", "1h", "1d", "1mo"}
    assert len([r for r in rows if r["period"] == "15m"]) == 23 * 4  # the DST day
    worst = 0.0
    for row in rows:
        if row["period"] == "1mo":
            continue
        truth = truth_fields(history, row["time"], period_end(row))
        for name in ("import_t1_kwh", "import_t2_kwh", "export_t1_kwh", "export_t2_kwh"):
            worst = max(worst, abs(row[name] - truth[name]))
            assert abs(row[name] - truth[name]) <= 0.002 + 1e-9, (row["period"], name)
    assert worst > 0  # the float32 rounding is really there (registers above 16,384 kWh)


def test_over_api_v2_the_ledger_goes_to_its_own_bucket(history, influxd, influx_db, v2_proxy,
                                                        tmp_path):
    """API v2 (through the loopback proxy that maps the v2 write API onto InfluxDB 1.x, as 1.8
    does): raw lines go to bucket `<db>`, ledger lines to `<db>/ledger`, the policy migration 0003
    made; nothing of the ledger lands among the raw series."""
    day = datetime(2027, 3, 29, tzinfo=BRUSSELS)
    lines = [ln for ln in history.lines
             if day.timestamp() - 3600 <= int(ln.rsplit(" ", 1)[1]) <= day.timestamp() + 90000]
    load(influxd, influx_db, lines)
    settings = Settings(installation=INSTALLATION, local={"enabled": False},
                        influx={"url": v2_proxy.url, "api": "v2", "bucket": influx_db,
                                "token": "t", "timeout": 30.0},
                        outbox={"path": tmp_path / "outbox.sqlite"},
                        ledger={"gap": 2 * STEP, "source": "p1"})
    end = datetime(2027, 3, 30, tzinfo=BRUSSELS)
    result = asyncio.run(build_history(settings, day, end, dry_run=False))
    assert result.left == 0
    days = [r for r in ledger(influxd, influx_db) if r["period"] == "1d"]
    assert len(days) == 1
    assert_equals_truth(history, days[0])
    raw = influxd.query("SHOW MEASUREMENTS", db=influx_db)["results"][0]["series"][0]["values"]
    assert "ledger_energy" not in {m[0] for m in raw} or not influxd.query(
        f'SELECT * FROM "{influx_db}"."autogen"."ledger_energy"', db=influx_db
    )["results"][0].get("series")


def test_the_service_continues_today_from_its_last_hour_and_completes_it_after_midnight(
        history, influxd, influx_db, tmp_path):
    """No `ledger` command: the job alone. At noon it computes the recheck window (days of
    history it never saw) and today so far; at 18:00 only today from its last complete hour on;
    late data in today's morning makes the next update redo today whole; after midnight the
    finished day is completed. Every period then equals the truth."""
    settings = settings_for(influxd, influx_db, tmp_path)

    def at(hour: int, minute: int, second: int = 0) -> int:
        return int(datetime(2027, 4, 1, hour, minute, second, tzinfo=BRUSSELS).timestamp())

    morning_gap = (at(8, 7), at(9, 52))
    timed = [(line, int(line.rsplit(" ", 1)[1])) for line in history.lines]
    late = [ln for ln, t in timed if morning_gap[0] <= t < morning_gap[1]]
    timed = [(ln, t) for ln, t in timed if not morning_gap[0] <= t < morning_gap[1]]
    noon, six, evening = at(12, 2), at(18, 2), at(23, 59, 59)
    april = datetime(2027, 4, 1).date()

    load(influxd, influx_db, [ln for ln, t in timed if t <= noon])
    first = asyncio.run(update(settings, tmp_path, noon + 30))
    assert [d.isoformat() for d in first.days] == [
        "2027-03-28", "2027-03-29", "2027-03-30", "2027-03-31", "2027-04-01"]
    assert first.partial == {}
    load(influxd, influx_db, [ln for ln, t in timed if noon < t <= six])
    second = asyncio.run(update(settings, tmp_path, six + 30))
    assert second.days == [april] and second.partial == {april: at(12, 0)}
    load(influxd, influx_db, late + [ln for ln, t in timed if six < t])
    third = asyncio.run(update(settings, tmp_path, evening))
    assert third.days == [april] and third.partial == {}  # today's morning changed: whole
    assert not [r for r in ledger(influxd, influx_db) if r["period"] == "1d"
                and r["time"] == int(APRIL.timestamp())]  # not complete yet
    fourth = asyncio.run(update(settings, tmp_path, int(END.timestamp()) + 60))
    assert [d.isoformat() for d in fourth.days] == ["2027-04-01", "2027-04-02"]
    rows = [r for r in ledger(influxd, influx_db) if r["time"] >= int(APRIL.timestamp())]
    assert {r["period"] for r in rows} == {"15m", "1h", "1d", "1mo"}
    assert len([r for r in rows if r["period"] == "15m"]) == 96
    for row in rows:
        if row["period"] != "1mo":
            assert_equals_truth(history, row)
            assert row["estimated"] == 0


@pytest.mark.parametrize(("first_day", "last_day"), [(29, 30), (28, 31)], ids=["3h45", "51h45"])
def test_a_gap_across_midnight_longer_than_the_read_margin_still_brackets_the_day(
        history, influxd, influx_db, tmp_path, first_day, last_day):
    """Readings missing from 22:07 to 01:52 (the next night, or two days later: two whole days
    without a reading): the days' ends lie in the gap, more than an hour (and more than a day)
    from any reading; they are found and interpolated, and the days together are still exactly
    the counters' difference."""
    gap = (int(datetime(2027, 3, first_day, 22, 7, tzinfo=BRUSSELS).timestamp()),
           int(datetime(2027, 3, last_day, 1, 52, tzinfo=BRUSSELS).timestamp()))
    load(influxd, influx_db, [ln for ln in history.lines
                              if not gap[0] <= int(ln.rsplit(" ", 1)[1]) < gap[1]])
    build(settings_for(influxd, influx_db, tmp_path))
    days = {r["time"]: r for r in ledger(influxd, influx_db) if r["period"] == "1d"}
    starts = [day_bounds(datetime(2027, 3, d).date())[0]
              for d in range(first_day, last_day + 1)]
    assert all(days[s]["estimated"] == 1 for s in starts)
    together = truth_fields(history, starts[0], day_bounds(datetime(2027, 3, last_day).date())[1])
    for name, value in together.items():
        if name != "gas_m3":
            total = sum(days[s][name] for s in starts)
            assert total == pytest.approx(value, abs=1e-9), name


def test_the_commands_dry_run_build_and_report(history, influxd, influx_db, tmp_path, capsys):
    """`ledger --dry-run` computes and writes nothing; `ledger` builds; `report` prints the
    day hour by hour with estimated values marked, and the month's capacity tariff."""
    load(influxd, influx_db, [line for line in history.lines if not in_gap(line)])
    config = write_config(tmp_path / "config.toml", {
        "local": {"enabled": False},
        "influx": {"url": influxd.url, "database": influx_db, "timeout": 30.0},
        "outbox": {"path": str(tmp_path / "outbox.sqlite")},
        "ledger": {"gap": 2.0 * STEP},
    }, installation=INSTALLATION)
    span = ["--since", "2027-03-28", "--until", "2027-04-01"]
    assert main(["ledger", "-c", str(config), *span, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "5 day(s) computed (0 with estimated values), 2 month(s)" in out
    assert "dry run: nothing written" in out
    policies = influxd.query(f'SHOW RETENTION POLICIES ON "{influx_db}"')["results"][0]
    assert "ledger" not in {row[0] for row in policies["series"][0]["values"]}  # not migrated
    assert not (tmp_path / "outbox.sqlite").exists()  # and nothing queued
    assert main(["ledger", "-c", str(config), *span]) == 0
    out = capsys.readouterr().out
    assert "waiting in the outbox: 0" in out and "2027-04 peak" in out
    assert main(["report", "-c", str(config), "--day", "2027-03-30"]) == 0
    out = capsys.readouterr().out
    hours = [line for line in out.splitlines() if re.match(r"^\s*\d\d:\d\d ", line)]
    assert len(hours) == 24
    estimated = [line for line in hours if "~" in line]
    assert [line.split()[0] for line in estimated] == ["10:00", "11:00", "12:00", "13:00"]
    assert "Highest quarter-hour demand" in out
    assert main(["report", "-c", str(config), "--month", "2027-04"]) == 0
    out = capsys.readouterr().out
    assert "Capacity tariff 2027-04: peak" in out and "12-month mean" in out
