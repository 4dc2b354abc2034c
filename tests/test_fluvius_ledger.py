"""Fluvius history and the ledger, end to end through a real influxd, against the simulator's
ground truth.

The model's house runs three Belgian days across a month boundary (the last day of a month and
the first two of the next, counted back from today so the meter check finds the meter). The
logger's side (P1 telegrams decoded by the product's decoder, inverter and battery polls parsed
by its local parser: tests/ledger_data.py) starts at 06:00 on the first day (before it there is
no logger: history from before the logger) and misses the whole second day (the logger was off).
The grid operator's side is an export of the same days by `tests/fluvius_export.py`, with 5 Wh
planted in one quarter of the first day. Then `jullix-logger import-fluvius` and `jullix-logger
ledger`, as a user runs them, and the ledger is judged against the model.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from fluvius_export import (
    BRUSSELS,
    EAN,
    electricity_lines,
    gas_lines,
    night,
    quarter_energy,
    write,
)
from harness import write_config
from ledger_data import History, simulate

from logger.cli.main import main
from logger.testbed.influxd import InfluxServer

pytestmark = pytest.mark.integration

INSTALLATION = "fluvius-test"
STEP = 300
METER = "1SAG3101021605"  # the simulated meter's equipment id (the P1 meter_id tag)
PLANTED_WH = 5


def local_midnight(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=BRUSSELS).timestamp())


def the_days() -> tuple[date, date, date]:
    """The last day of a month and the first two of the next, all complete and recent."""
    recent = datetime.now(BRUSSELS).date() - timedelta(days=3)
    first = recent.replace(day=1)
    return first - timedelta(days=1), first, first + timedelta(days=1)


@dataclass
class World:
    history: History
    days: tuple[date, date, date]
    bounds: list[int]  # midnights: day 1, 2, 3 and the end of day 3
    logger_from: int  # the first logger reading (06:00 on day 1)
    planted: tuple[int, str]  # (quarter start, register) with 5 Wh more in the export
    config: Path
    import_rc: int
    ledger_rc: int
    server: InfluxServer
    db: str

    def rows(self, measurement: str, where: str = "") -> list[dict]:
        answer = self.server.query(
            f'SELECT * FROM "{self.db}"."ledger"."{measurement}" WHERE "installation" = '
            f"'{INSTALLATION}'{where}", db=self.db)
        series = answer["results"][0].get("series", [])
        return [dict(zip(s["columns"], v, strict=True)) for s in series for v in s["values"]]

    def period(self, kind: str) -> dict[int, dict]:
        return {r["time"]: r for r in self.rows("ledger_energy", f" AND \"period\" = '{kind}'")}


def logged(line: str, world_bounds: list[int], logger_from: int) -> bool:
    """What the logger recorded: from 06:00 on day 1, nothing on day 2 (off). The meter's month
    peaks (`p1_peak`, stamped at the month's start) are kept as the meter states them."""
    if line.startswith("p1_peak"):
        return True
    t = int(line.rsplit(" ", 1)[1])
    return t >= logger_from and not world_bounds[1] <= t < world_bounds[2]


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(list(args))
    return code, capsys.readouterr().out


@pytest.fixture(scope="module")
def world(influxd: InfluxServer, tmp_path_factory: pytest.TempPathFactory) -> World:
    tmp = tmp_path_factory.mktemp("fluvius")
    days = the_days()
    bounds = [local_midnight(d) for d in days] + [local_midnight(days[2] + timedelta(days=1))]
    history = simulate(datetime.fromtimestamp(bounds[0] - STEP, UTC),
                       datetime.fromtimestamp(bounds[3] + STEP, UTC), step=STEP, seed=5,
                       installation=INSTALLATION)
    logger_from = bounds[0] + 6 * 3600
    db = "fluvius_e2e"
    influxd.create_database(db)
    lines = [line for line in history.lines if logged(line, bounds, logger_from)]
    for i in range(0, len(lines), 5000):
        influxd.write(db, "\n".join(lines[i:i + 5000]))
    planted_t = bounds[0] + 14 * 3600 + 900  # 14:15 on day 1 (a quarter the logger has)
    planted = (planted_t, "import_t2" if night(planted_t) else "import_t1")
    quarters = range(bounds[0], bounds[3], 900)
    electricity = write(tmp / "Verbruikshistoriek_elektriciteit_kwartiertotalen.csv",
                        electricity_lines(history, quarters, METER, {planted: PLANTED_WH}))
    gas = write(tmp / "Verbruikshistoriek_gas_uurtotalen.csv",
                gas_lines(history, range(bounds[0], bounds[3], 3600), "7FLO0000000001"))
    config = write_config(tmp / "config.toml", {
        "local": {"enabled": False},
        "influx": {"url": influxd.url, "database": db, "timeout": 30.0},
        "outbox": {"path": str(tmp / "outbox.sqlite")},
        "ledger": {"gap": 2 * STEP, "source": "p1"},
        "fluvius": {"warn_wh": 3.0},
    }, installation=INSTALLATION)
    import_rc = main(["import-fluvius", "-c", str(config), str(electricity), str(gas)])
    ledger_rc = main(["ledger", "-c", str(config), "--since", days[0].isoformat(),
                      "--until", days[2].isoformat()])
    yield World(history, days, bounds, logger_from, planted, config, import_rc, ledger_rc,
                influxd, db)
    influxd.drop_database(db)


def truth(world: World, start: int, end: int) -> dict[str, float]:
    """The model's register differences over [start, end), in kWh."""
    a, b = world.history.truth[start], world.history.truth[end]
    return {"import_t1_kwh": (b.import_wh[0] - a.import_wh[0]) / 1000,
            "import_t2_kwh": (b.import_wh[1] - a.import_wh[1]) / 1000,
            "export_t1_kwh": (b.export_wh[0] - a.export_wh[0]) / 1000,
            "export_t2_kwh": (b.export_wh[1] - a.export_wh[1]) / 1000}


def assert_truth(world: World, row: dict, end: int, start: int | None = None) -> None:
    """The row's registers equal the model over [start (the row's own), end), to 1 Wh."""
    begin = row["time"] if start is None else start
    for name, value in truth(world, begin, end).items():
        assert row[name] == pytest.approx(value, abs=1e-9), (row["period"], row["time"], name)


def test_the_commands_ran_and_every_quarter_hour_day_and_month_equals_the_model(world):
    assert (world.import_rc, world.ledger_rc) == (0, 0)
    b = world.bounds
    quarters = world.period("15m")
    assert sorted(quarters) == list(range(b[0], b[3], 900))
    for start, row in quarters.items():
        assert_truth(world, row, start + 900)
    hours = world.period("1h")
    assert sorted(hours) == list(range(b[0], b[3], 3600))
    for start, row in hours.items():
        assert_truth(world, row, start + 3600)
    days = world.period("1d")
    assert sorted(days) == b[:3]
    for i, start in enumerate(b[:3]):
        assert_truth(world, days[start], b[i + 1])
    months = world.period("1mo")
    assert sorted(months) == [local_midnight(world.days[0].replace(day=1)), b[1]]
    assert_truth(world, months[b[1]], b[3])  # days 2 and 3
    old = months[local_midnight(world.days[0].replace(day=1))]
    assert old["days"] == 1
    assert_truth(world, old, b[1], start=b[0])  # the month holds day 1 only


def test_the_quarters_without_readings_come_from_fluvius_and_say_so(world):
    b = world.bounds
    quarters, days = world.period("15m"), world.period("1d")
    before_logger = range(b[0], world.logger_from, 900)
    last_of_day_1 = b[1] - 900  # its end lies in the logger's outage: interpolated
    for start, row in quarters.items():
        from_fluvius = start in before_logger or start == last_of_day_1 or b[1] <= start < b[2]
        assert row["fluvius_pct"] == (100.0 if from_fluvius else 0.0), start
        assert row["estimated"] == 0, start  # the export says "Gevalideerd"
    assert days[b[1]]["fluvius_pct"] == 100.0 and days[b[1]]["coverage_pct"] == 0.0
    assert days[b[2]]["fluvius_pct"] == 0.0 and days[b[2]]["coverage_pct"] == 100.0
    day_1_quarters = (b[1] - b[0]) // 900
    assert days[b[0]]["fluvius_pct"] == pytest.approx(100 * 25 / day_1_quarters, abs=1e-3)
    # The planted quarter is the logger's own: its value is the logger's, not the export's.
    planted = quarters[world.planted[0]]
    assert planted["fluvius_pct"] == 0.0
    assert_truth(world, planted, world.planted[0] + 900)


def test_the_reconciliation_finds_the_planted_5_wh_and_nothing_else(world):
    b = world.bounds
    rows = world.rows("ledger_reconciliation")
    by = {(r["period"], r["time"]): r for r in rows}
    assert {k for k in by if k[0] == "15m"} == {("15m", world.planted[0])}
    quarter = by[("15m", world.planted[0])]
    register = world.planted[1]
    assert quarter[f"{register}_diff_kwh"] == pytest.approx(-0.005, abs=1e-9)
    assert quarter["max_diff_wh"] == PLANTED_WH and quarter["differing_quarters"] == 1
    day_1 = by[("1d", b[0])]
    compared = (b[1] - b[0]) // 900 - 25  # the logger's own quarters of day 1
    assert (day_1["compared_quarters"], day_1["differing_quarters"]) == (compared, 1)
    for group in ("import_t1", "import_t2", "export_t1", "export_t2"):
        expected = -PLANTED_WH / 1000 if group == register else 0.0
        assert day_1[f"{group}_diff_kwh"] == pytest.approx(expected, abs=1e-9), group
    assert ("1d", b[1]) not in by  # the logger had nothing of day 2 to compare
    day_3 = by[("1d", b[2])]
    assert (day_3["compared_quarters"], day_3["differing_quarters"]) == ((b[3] - b[2]) // 900, 0)
    assert day_3["max_diff_wh"] == 0 and all(day_3[f"{g}_diff_kwh"] == 0 for g in
                                             ("import_t1", "import_t2", "export_t1", "export_t2"))
    old_month = by[("1mo", local_midnight(world.days[0].replace(day=1)))]
    assert (old_month["compared_quarters"], old_month["differing_quarters"]) == (compared, 1)
    new_month = by[("1mo", b[1])]
    assert new_month["differing_quarters"] == 0 and new_month["max_diff_wh"] == 0


def test_gas_comes_from_fluvius_where_the_logger_has_none(world):
    b = world.bounds
    hours, days = world.period("1h"), world.period("1d")
    for start, row in hours.items():
        litres = world.history.truth[start + 3600].gas_l - world.history.truth[start].gas_l
        assert row["gas_m3"] == pytest.approx(litres / 1000, abs=1e-9), start
    for i, start in enumerate(b[:3]):
        litres = world.history.truth[b[i + 1]].gas_l - world.history.truth[start].gas_l
        assert days[start]["gas_m3"] == pytest.approx(litres / 1000, abs=1e-9)
        assert days[start]["gas_kwh"] > 0


def test_the_capacity_peaks_come_from_all_quarters_and_the_mean_counts_both_months(world):
    b = world.bounds
    peaks = {r["time"]: r for r in world.rows("ledger_peak")}
    first_month = local_midnight(world.days[0].replace(day=1))

    def highest(start: int, end: int) -> tuple[float, int]:
        demands = []
        for t in range(start, end, 900):
            energy = quarter_energy(world.history, t)
            demands.append(((energy["import_t1"] + energy["import_t2"]) * 4.0, -t))
        best = max(demands)
        return best[0], -best[1]

    for month, (start, end) in ((first_month, (b[0], b[1])), (b[1], (b[1], b[3]))):
        peak_w, at = highest(start, end)
        assert (peaks[month]["peak_w"], peaks[month]["peak_start_s"]) == (peak_w, at)
    billed = [max(peaks[m]["peak_w"], 2500.0) for m in (first_month, b[1])]
    assert peaks[b[1]]["months_in_mean"] == 2
    assert peaks[b[1]]["mean_12m_w"] == pytest.approx(sum(billed) / 2, abs=1e-3)


def test_report_and_status_show_the_source_and_the_difference(world, capsys):
    month = world.days[0].strftime("%Y-%m")
    code, out = run_cli(capsys, "report", "-c", str(world.config), "--month", month)
    assert code == 0
    local = datetime.fromtimestamp(world.planted[0], BRUSSELS).strftime("%Y-%m-%d %H:%M")
    assert "1 of" in out and "differ by more than 1 Wh" in out, out
    assert local in out and f"-{PLANTED_WH} Wh" in out, out
    tariff = "night" if world.planted[1] == "import_t2" else "day"
    assert f"logger - Fluvius: import {tariff} -5 Wh" in out, out
    code, out = run_cli(capsys, "status", "-c", str(world.config))
    assert f"WARNING       Fluvius {month}: the ledger differs" in out, out
    code, out = run_cli(capsys, "report", "-c", str(world.config), "--month",
                        world.days[1].strftime("%Y-%m"))
    assert f"From Fluvius (no logger readings of their own): {world.days[1]} (100 %)" in out, out
    assert "none differs by more than 1 Wh" in out, out
    code, out = run_cli(capsys, "report", "-c", str(world.config), "--day",
                        world.days[0].isoformat())
    assert "From Fluvius (no logger readings of their own): 00:00-06:00 (100 %)" in out, out
    assert f"Fluvius check {world.days[0]}: 1 of" in out and local in out, out


def test_a_second_import_overwrites_the_same_points(world, capsys):
    def count() -> int:
        answer = world.server.query(
            f'SELECT COUNT("energy_status") FROM "{world.db}"."ledger"."ledger_fluvius"',
            db=world.db)
        return answer["results"][0]["series"][0]["values"][0][1]

    before = count()
    assert before == (world.bounds[3] - world.bounds[0]) // 900 * 2 + (
        world.bounds[3] - world.bounds[0]) // 3600
    tmp = world.config.parent
    code, out = run_cli(capsys, "import-fluvius", "-c", str(world.config),
                        str(tmp / "Verbruikshistoriek_elektriciteit_kwartiertotalen.csv"))
    assert code == 0 and "waiting in the outbox: 0" in out, out
    assert count() == before


def test_a_file_of_another_meter_is_refused_unless_named(influxd, influx_db, tmp_path, capsys):
    influxd.write(influx_db, f"p1,installation={INSTALLATION},meter_id={METER} "
                  f"energy_import_t1_kwh=1.0 {int(datetime.now(UTC).timestamp()) - 60}")
    day = date(2024, 1, 15)
    start = local_midnight(day)
    lines = ["Van datum;Van tijdstip;Tot datum;Tot tijdstip;EAN;Meter;Metertype;Register;Volume;"
             "Eenheid;Validatiestatus",
             f'15-01-2024;00:00:00;15-01-2024;00:15:00;="{EAN}";1SAG9999999999;Digitale Meter;'
             "Afname Nacht;0,100;kWh;Gevalideerd"]
    path = write(tmp_path / "other.csv", lines)
    config = write_config(tmp_path / "config.toml", {
        "local": {"enabled": False},
        "influx": {"url": influxd.url, "database": influx_db, "timeout": 30.0},
        "outbox": {"path": str(tmp_path / "outbox.sqlite")},
    }, installation=INSTALLATION)

    def stored() -> int:
        answer = influxd.query(f'SELECT * FROM "{influx_db}"."ledger"."ledger_fluvius"',
                               db=influx_db)
        return sum(len(s["values"]) for s in answer["results"][0].get("series", []))

    code, out = run_cli(capsys, "import-fluvius", "-c", str(config), str(path))
    assert code == 1
    assert f"refused line 2: meter 1SAG9999999999 is not {METER}" in out, out
    assert "--meter 1SAG9999999999" in out
    assert stored() == 0
    code, out = run_cli(capsys, "import-fluvius", "-c", str(config), "--meter",
                        "1SAG9999999999", "--dry-run", str(path))
    assert code == 0 and "1 points (dry run: nothing written)" in out, out
    assert stored() == 0
    code, out = run_cli(capsys, "import-fluvius", "-c", str(config), "--meter",
                        "1SAG9999999999", str(path))
    assert code == 0, out
    answer = influxd.query(f'SELECT "energy_kwh" FROM "{influx_db}"."ledger"."ledger_fluvius"',
                           db=influx_db)
    assert answer["results"][0]["series"][0]["values"] == [[start, 0.1]]


def test_a_build_without_since_starts_at_the_oldest_imported_quarter(world):
    """`jullix-logger ledger` without `--since` starts where history starts: here Fluvius's
    first quarter, six hours before the logger's first reading."""
    from logger.app.ledger_job import first_reading, make_reads
    from logger.config import load_settings
    from logger.sink.influxql import InfluxQL

    settings = load_settings(world.config)

    async def oldest() -> int | None:
        ql = InfluxQL(settings.influx)
        try:
            return await first_reading(make_reads(settings, ql), settings,
                                       int(datetime.now(UTC).timestamp()))
        finally:
            await ql.close()

    assert asyncio.run(oldest()) == world.bounds[0] < world.logger_from
