"""Importing two years of Mijn Fluvius quarter-hours: wall time and peak RSS of the command.

Generates a Dutch `kwartiertotalen` export (the public sample's shape: UTF-8 BOM, `;`, decimal
commas, `="EAN"`, both DST days of each year as Fluvius writes them) of `--days` days with all
four electricity registers in every quarter-hour (two years: 70,080 quarters, 280,320 lines; the
public samples list only the tariff in force, two lines a quarter, so this is the heavier case),
plus the gas `uurtotalen` of the same days (m³ and kWh lines a hour). Values are deterministic.
Then `python -m logger import-fluvius` runs as a child process against a private influxd
(Debian's 1.6, loopback): parse, meter check against the installation's `p1` meter, outbox,
delivery. Wall time and `ru_maxrss` of the child; the points InfluxDB holds afterwards are
counted. With `--ledger`, `python -m logger ledger` then builds the ledger of those days from the
Fluvius quarter-hours alone (no logger readings), timed the same way.

    .venv/bin/python benchmarks/fluvius_import.py [--days 730] [--ledger]

Prints one JSON object. Targets (issue 23): import <= 60 s and <= 80 MB peak RSS.
"""

from __future__ import annotations

import argparse
import contextlib
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import ROOT, InfluxServer, emit, machine, proc_status, write_config

from logger.core.belgian_time import BRUSSELS

INSTALLATION = "bench"
METER = "1SAG3101021605"
EAN = "541448820044512345"


def _mix(x: int) -> int:
    x = (x * 0x9E3779B97F4A7C15 + 0x632BE59BD9B4E019) & 0xFFFFFFFFFFFFFFFF
    return (x ^ (x >> 29)) & 0xFFFFFFFF


def kwh(wh: int) -> str:
    return f"{wh // 1000},{wh % 1000:03d}"


def wall(t: int) -> tuple[str, str]:
    local = datetime.fromtimestamp(t, BRUSSELS)
    return local.strftime("%d-%m-%Y"), local.strftime("%H:%M:%S")


def write_exports(tmp: Path, first: date, days: int) -> tuple[Path, Path, int, int]:
    """The two files; returns them and their data lines."""
    start = int(datetime(first.year, first.month, first.day, tzinfo=BRUSSELS).timestamp())
    last = first + timedelta(days=days)
    end = int(datetime(last.year, last.month, last.day, tzinfo=BRUSSELS).timestamp())
    electricity, gas = tmp / "Verbruikshistoriek_elektriciteit_kwartiertotalen.csv", (
        tmp / "Verbruikshistoriek_gas_uurtotalen.csv")
    lines = 0
    with electricity.open("w", encoding="utf-8", newline="") as out:
        out.write("\ufeffVan datum;Van tijdstip;Tot datum;Tot tijdstip;EAN;Meter;Metertype;"
                  "Register;Volume;Eenheid;Validatiestatus")
        for t in range(start, end, 900):
            local = datetime.fromtimestamp(t, BRUSSELS)
            night = local.weekday() >= 5 or local.hour >= 22 or local.hour < 7
            offtake = 20 + _mix(t) % 400
            injection = _mix(t + 1) % 300 if 9 <= local.hour < 17 else 0
            row = ";".join((*wall(t), *wall(t + 900), f'="{EAN}"', METER, "Digitale Meter"))
            for name, wh, active in (("Afname Dag", offtake, not night),
                                     ("Afname Nacht", offtake, night),
                                     ("Injectie Dag", injection, not night),
                                     ("Injectie Nacht", injection, night)):
                status = "Gevalideerd" if active else "Geen verbruik"
                out.write(f"\n{row};{name};{kwh(wh) if active else ''};kWh;{status}")
                lines += 1
    gas_lines = 0
    with gas.open("w", encoding="utf-8", newline="") as out:
        out.write("\ufeffVan datum;Van tijdstip;Tot datum;Tot tijdstip;EAN-code;Meter;Metertype;"
                  "Register;Volume;Eenheid;Validatiestatus;Calorische Bovenwaarde")
        for t in range(start, end, 3600):
            row = ";".join((*wall(t), *wall(t + 3600), '="541448860044512345"', "7FLO1",
                            "Digitale Meter", "Afname"))
            litres = _mix(t + 2) % 900
            out.write(f"\n{row};{kwh(litres * 11)};kWh;Gevalideerd;Definitief")
            out.write(f"\n{row};{kwh(litres)};m³;Gevalideerd;")
            gas_lines += 2
    return electricity, gas, lines, gas_lines


def timed(args: list[str]) -> tuple[float, float, int, str]:
    """Wall s, peak RSS MB (the child's VmHWM, read until it exits), exit code, output."""
    t0 = time.perf_counter()
    with tempfile.TemporaryFile("w+") as log:
        child = subprocess.Popen([sys.executable, "-m", "logger", *args], cwd=ROOT, stdout=log,
                                 stderr=subprocess.STDOUT, text=True)
        peak_kb = 0
        while child.poll() is None:
            with contextlib.suppress(OSError, ValueError):  # exited between poll and read
                peak_kb = max(peak_kb, proc_status(child.pid).get("VmHWM", 0))
            time.sleep(0.05)
        wall_s = time.perf_counter() - t0
        log.seek(0)
        output = log.read()
    return wall_s, peak_kb / 1024, child.returncode, output


def count(server: InfluxServer, measurement: str, field: str, where: str = "") -> int:
    answer = server.query(f'SELECT COUNT("{field}") FROM "jullix"."ledger"."{measurement}"'
                          f"{where}", db="jullix")
    series = answer["results"][0].get("series") or []
    return int(series[0]["values"][0][1]) if series else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=730)
    parser.add_argument("--first", default="2024-01-01", help="first day of the export")
    parser.add_argument("--ledger", action="store_true", help="also time `ledger` on them")
    args = parser.parse_args()
    first = date.fromisoformat(args.first)
    result: dict = {"machine": machine(), "days": args.days, "first": args.first}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        t0 = time.perf_counter()
        electricity, gas, lines, gas_lines = write_exports(tmp, first, args.days)
        result["generate_s"] = round(time.perf_counter() - t0, 1)
        result["lines"] = {"electricity": lines, "gas": gas_lines,
                           "mb": round((electricity.stat().st_size + gas.stat().st_size) / 1e6,
                                       1)}
        server = InfluxServer().start()
        try:
            server.create_database("jullix")
            server.write("jullix", f"p1,installation={INSTALLATION},meter_id={METER} "
                         f"energy_import_t1_kwh=1.0 {int(time.time()) - 60}")
            config = write_config(tmp / "config.toml", {
                "local": {"enabled": False},
                "influx": {"url": server.url, "database": "jullix", "timeout": 60.0},
                "outbox": {"path": str(tmp / "outbox.sqlite")},
            }, installation=INSTALLATION)
            wall_s, rss, code, output = timed(["import-fluvius", "-c", str(config),
                                               str(electricity), str(gas)])
            stored = count(server, "ledger_fluvius", "energy_status")
            result["import"] = {"wall_s": round(wall_s, 1), "peak_rss_mb": round(rss, 1),
                                "exit": code, "points_in_influxdb": stored,
                                "summary": output.strip().splitlines()[-8:]}
            _, help_rss, _, _ = timed(["import-fluvius", "--help"])
            result["interpreter_with_imports_rss_mb"] = round(help_rss, 1)
            if args.ledger:
                last = first + timedelta(days=args.days - 1)
                wall_s, rss, code, output = timed(["ledger", "-c", str(config), "--since",
                                                   first.isoformat(), "--until",
                                                   last.isoformat()])
                result["ledger"] = {"wall_s": round(wall_s, 1), "peak_rss_mb": round(rss, 1),
                                    "exit": code,
                                    "days": count(server, "ledger_energy", "import_kwh",
                                                  " WHERE \"period\" = '1d'"),
                                    "summary": output.strip().splitlines()[:3]}
        finally:
            server.close()
    emit(result)


if __name__ == "__main__":
    main()
