"""`jullix-logger report` as a user and a script meet it: it fits 80 columns (more on a wider
terminal), every view has a total row (a year sums its months), `--json` carries every ledger
field with its unit, and a wrong installation or database is said, with what exists, exit 1.

The ledger is written here by hand into a real influxd (its own retention policy, as the
migrations make it), so every number the report shows is checked against what was written."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from harness import ROOT, write_config

pytestmark = pytest.mark.integration

ZONE = ZoneInfo("Europe/Brussels")  # the oracle's own, not logger.core.belgian_time
DAY = datetime(2026, 11, 26, tzinfo=ZONE)


def hour_fields(h: int) -> dict[str, float]:
    imp_t1, imp_t2 = (0.0, 0.4 + h / 100) if h < 7 or h >= 22 else (0.2 + h / 50, 0.0)
    solar = max(0.0, 1.2 - abs(h - 13) * 0.2)
    export = max(0.0, solar - 0.6)
    fields = {
        "import_t1_kwh": imp_t1, "import_t2_kwh": imp_t2, "import_kwh": imp_t1 + imp_t2,
        "export_t1_kwh": export, "export_t2_kwh": 0.0, "export_kwh": export,
        "solar_kwh": solar, "battery_charged_kwh": 0.1, "battery_discharged_kwh": 0.2,
        "consumption_kwh": imp_t1 + imp_t2 - export + solar + 0.1,
        "home_kwh": imp_t1 + imp_t2 - export + solar + 0.1, "gas_m3": 0.123,
        "water_m3": 0.011, "estimated": 1.0 if h == 10 else 0.0, "coverage_pct": 100.0,
        "readings": 3600.0, "profile_points": 0.0, "resets": 0.0,
    }
    consumption = fields["consumption_kwh"]
    fields["self_sufficiency_pct"] = 100 * (consumption - min(fields["import_kwh"],
                                                              consumption)) / consumption
    return fields


def line(measurement: str, tags: dict[str, str], fields: dict[str, float], t: int) -> str:
    tag_text = ",".join(f"{k}={v}" for k, v in tags.items())
    field_text = ",".join(f"{k}={v!r}" for k, v in fields.items())
    return f"{measurement},{tag_text} {field_text} {t}"


@pytest.fixture(scope="module")
def ledger_db(influxd):
    """A database whose ledger holds one day of hours, that day, October and November."""
    db = "report_view"
    influxd.create_database(db)
    influxd.query(f'CREATE RETENTION POLICY "ledger" ON "{db}" DURATION INF REPLICATION 1')
    hours = {h: hour_fields(h) for h in range(24)}
    lines = [line("ledger_energy", {"installation": "home", "period": "1h"}, f,
                  int((DAY + timedelta(hours=h)).timestamp())) for h, f in hours.items()]
    day = {k: sum(f[k] for f in hours.values()) for k in hours[0] if k.endswith(("_kwh",
                                                                              "_m3"))}
    day.update(estimated=1.0, coverage_pct=100.0, peak_demand_w=3600.0,
               peak_start_s=float(int((DAY + timedelta(hours=20)).timestamp())),
               self_sufficiency_pct=12.0, self_consumption_pct=50.0)
    lines.append(line("ledger_energy", {"installation": "home", "period": "1d"}, day,
                      int(DAY.timestamp())))
    months = {datetime(2026, 10, 1, tzinfo=ZONE): {**day, "import_kwh": 310.5, "days": 31.0},
              datetime(2026, 11, 1, tzinfo=ZONE): {**day, "import_kwh": 288.25, "days": 26.0}}
    for start, fields in months.items():
        lines.append(line("ledger_energy", {"installation": "home", "period": "1mo"}, fields,
                          int(start.timestamp())))
        lines.append(line("ledger_peak", {"installation": "home"}, {
            "peak_w": 3600.0, "peak_start_s": day["peak_start_s"], "billed_w": 3600.0,
            "mean_12m_w": 3600.0, "months_in_mean": 2.0, "estimated": 0.0},
            int(start.timestamp())))
    influxd.write(db, "\n".join(lines), rp="ledger")
    yield db, hours, day, months
    influxd.drop_database(db)


def report(tmp_path, influxd, db, *args, installation="home", columns=80):
    config = write_config(tmp_path / "c.toml", {
        "local": {"enabled": False}, "influx": {"url": influxd.url, "database": db}},
        installation=installation)
    env = {k: v for k, v in os.environ.items() if not k.startswith("JULLIX_LOGGER_")}
    env["COLUMNS"] = str(columns)
    return subprocess.run([sys.executable, "-m", "logger", "report", "-c", str(config), *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_a_day_fits_80_columns_with_a_total_row_and_the_day_night_split(
        tmp_path, influxd, ledger_db):
    db, hours, day, _ = ledger_db
    result = report(tmp_path, influxd, db, "--day", "2026-11-26")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert max(len(text) for text in lines) <= 80, result.stdout
    assert "…" not in result.stdout  # nothing cut short
    rows = [text for text in lines if text.strip()[:5].replace(":", "").isdigit()]
    assert len(rows) == 24
    assert rows[10].split()[1] == f"~{hours[10]['import_kwh']:.3f}"  # estimated: marked
    total = next(text for text in lines if text.strip().startswith("total"))
    assert total.split()[1] == f"~{day['import_kwh']:.3f}"
    # The hour's own self-sufficiency, not a column of dashes.
    assert rows[12].split()[-1] == "%" and rows[12].split()[-2] == (
        f"{hours[12]['self_sufficiency_pct']:.0f}")
    assert (f"Import: day tariff {day['import_t1_kwh']:.3f} kWh, night tariff "
            f"{day['import_t2_kwh']:.3f} kWh") in lines
    assert f"Used: gas {day['gas_m3']:.3f} m³, water {day['water_m3']:.3f} m³" in lines
    wide = report(tmp_path, influxd, db, "--day", "2026-11-26", columns=140)
    assert "not shown at" in result.stdout and "not shown at" not in wide.stdout
    assert max(len(text) for text in wide.stdout.splitlines()) > 80  # more columns


def test_a_year_has_a_total_row_summed_from_its_months(tmp_path, influxd, ledger_db):
    db, _, _, months = ledger_db
    result = report(tmp_path, influxd, db, "--year", "2026")
    assert result.returncode == 0, result.stderr
    total = next(text for text in result.stdout.splitlines() if text.strip().startswith("total"))
    assert total.split()[1] == f"~{sum(m['import_kwh'] for m in months.values()):.1f}"


def test_json_has_every_ledger_field_of_every_period_with_its_unit(tmp_path, influxd,
                                                                   ledger_db):
    db, hours, day, _ = ledger_db
    result = report(tmp_path, influxd, db, "--day", "2026-11-26", "--json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["installation"] == "home" and doc["view"] == "day"
    assert doc["units"]["import_kwh"] == "kWh" and doc["units"]["gas_m3"] == "m³"
    assert len(doc["periods"]) == 24
    for h, period in enumerate(doc["periods"]):
        assert period["period"] == "1h"
        assert period["start"] == (DAY + timedelta(hours=h)).isoformat()
        assert set(doc["units"]) >= {k for k in period if k not in ("period", "end", "end_s",
                                                                     "peak_start")}
        for name, value in hours[h].items():
            expected = bool(value) if name == "estimated" else value
            assert period[name] == pytest.approx(expected), (h, name)
        assert period["cost"] is None  # no contract, no cost ledger: said, not made up
    assert doc["total"]["import_kwh"] == pytest.approx(day["import_kwh"])
    assert doc["capacity_tariff"][0]["month"] == "2026-11"


def test_a_wrong_installation_or_database_is_said_with_what_exists(tmp_path, influxd,
                                                                  ledger_db):
    db, *_ = ledger_db
    other = report(tmp_path, influxd, db, "--day", "2026-11-26", installation="house")
    assert other.returncode == 1
    assert "installation 'house'" in other.stderr
    assert "the ledger there has the installations 'home'" in other.stderr
    missing = report(tmp_path, influxd, "no_such_db", "--day", "2026-11-26")
    assert missing.returncode == 1
    assert "database 'no_such_db'" in missing.stderr and "does not exist" in missing.stderr
    assert db in missing.stderr  # the databases that do exist
    later = report(tmp_path, influxd, db, "--day", "2027-01-05")
    assert later.returncode == 1
    assert "it has the days from 2026-11-26 to 2026-11-26" in later.stderr


@pytest.mark.parametrize(("args", "message"), [
    (["report", "--day", "2026-13-01"], "--day '2026-13-01' is not a date (YYYY-MM-DD)"),
    (["report", "--year", "26"], "--year '26' is not a year (four digits, e.g. 2026)"),
    (["ledger", "--since", "2026-13-01"], "--since '2026-13-01' is not a date"),
    (["backfill", "--since", "2026-11-27", "--until", "2026-11-26"],
     "--since 2026-11-27 is not before --until 2026-11-26"),
])
def test_dates_get_our_own_message(tmp_path, args, message):
    config = write_config(tmp_path / "c.toml", {
        "local": {"enabled": False}, "influx": {"url": "http://127.0.0.1:9"},
        "outbox": {"path": str(tmp_path / "o.sqlite")}})
    command, *rest = args
    result = subprocess.run([sys.executable, "-m", "logger", command, "-c", str(config), *rest],
                            cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result.stdout + result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
