"""The cost ledger on a year of history: the build, the report, the service's CPU.

A year of the energy ledger (`ledger_energy` quarter-hours, hours, days, months and `ledger_peak`,
35,040 quarter-hours from 2025-06-01, across the move to quarter-hour prices on 2025-10-01) is
written straight into a private influxd (Debian's 1.6, loopback), with deterministic integer
energies (no physics: the benchmark times the costing, not the energy ledger, which
benchmarks/ledger.py times), and the simulator's day-ahead prices for the year (PT60M, then
PT15M). Then:

1. `python -m logger cost --since ... --until ...` as a child process, a dynamic contract: wall
   time and peak RSS (`ru_maxrss` of the child), points delivered. No `power_flow`: the savings
   then take the ledger's counters; `--flow-days N` adds N days of 5 s `power_flow` samples and
   reports what reading them costs (the savings' per-sample method on the first build).
2. `report --cost --year`: `report_cost.cost_view` + `render` in this process (the command's
   code after its imports), median of 5 after a warm-up; and the whole command's wall time.
3. The service's CPU: `CostJob.run` (the service's job; `[ledger] recheck_days` 7), once to find
   the year costed (nothing to write), then as an update after one more hour of quarter-hours
   arrived (4 new quarters, the hour, the running day's none yet): `time.process_time` per run,
   x runs per day (86,400 / `[ledger] interval`) / 86,400 s = a fraction of one core; and the
   price job's look (`PricesJob.run` with the days it wants already in InfluxDB).

    .venv/bin/python benchmarks/cost.py [--flow-days 0]

Prints one JSON object. Targets: build <= 10 s and <= 80 MB; `report --cost --year` < 200 ms;
service CPU rise <= 0.05 % of a core.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import ROOT, InfluxServer, emit, machine, write_config
from pydantic import SecretStr

from logger.core.belgian_time import BRUSSELS, day_bounds
from logger.testbed.simulator.day_ahead import prices_of_day

INSTALLATION = "bench"
FIRST = date(2025, 6, 1)
DAYS = 365
TARIFF = """
[[tariff]]
valid_from = 2025-01-01
capacity_eur_kw_year = 49.40
data_management_eur_year = 17.85
fixed_eur_year = 95.0
levies_eur_kwh = 0.064331
offtake = {kind = "dynamic", factor = 1.039, adder_eur_kwh = 0.008702}
injection = {kind = "dynamic", factor = 1.0, fee_eur_kwh = 0.013135}
grid = {distribution_eur_kwh = 0.050503}
"""


def _mix(x: int) -> int:
    x = (x * 0x9E3779B97F4A7C15 + 0x632BE59BD9B4E019) & 0xFFFFFFFFFFFFFFFF
    return (x ^ (x >> 29)) & 0xFFFFFFFF


def quarter(q: int) -> dict[str, int]:
    """Deterministic Wh of one quarter-hour."""
    local = datetime.fromtimestamp(q, BRUSSELS)
    h = local.hour + local.minute / 60
    night = local.weekday() >= 5 or h >= 22 or h < 7
    solar = max(0, int(1100 * (1 - abs(h - 13.5) / 5))) if 8 <= h <= 19 else 0
    load = 120 + _mix(q) % 250 + (400 if 18 <= h < 21 else 0)
    charged = min(solar // 2, 300) if solar > load else 0
    discharged = min(load, 250) if 18 <= h < 23 else 0
    net = load - solar - discharged + charged
    imported, exported = max(net, 0), max(-net, 0)
    return {"import_t1": 0 if night else imported, "import_t2": imported if night else 0,
            "export_t1": 0 if night else exported, "export_t2": exported if night else 0,
            "solar": solar, "charged": charged, "discharged": discharged}


def fields(e: dict[str, int]) -> str:
    kwh = {"import_t1_kwh": e["import_t1"], "import_t2_kwh": e["import_t2"],
           "export_t1_kwh": e["export_t1"], "export_t2_kwh": e["export_t2"],
           "solar_kwh": e["solar"], "battery_charged_kwh": e["charged"],
           "battery_discharged_kwh": e["discharged"],
           "import_kwh": e["import_t1"] + e["import_t2"],
           "export_kwh": e["export_t1"] + e["export_t2"]}
    return ",".join(f"{k}={v / 1000!r}" for k, v in kwh.items()) + ",estimated=0.0"


def load_year(server: InfluxServer, flow_days: int) -> dict[str, int]:
    """The ledger's year and the year's prices (and the last `flow_days` of power_flow)."""
    days = [FIRST + timedelta(days=i) for i in range(DAYS)]
    ledger: list[str] = []
    raw: list[str] = []
    counts = {"quarters": 0, "prices": 0, "power_flow": 0}
    month: dict[str, int] = {}
    month_peak = 0
    peaks: dict[int, float] = {}
    tag = f"installation={INSTALLATION}"
    for n, day in enumerate(days):
        start, end = day_bounds(day)
        total: dict[str, int] = {}
        peak = 0
        for h in range(start, end, 3600):
            hour: dict[str, int] = {}
            for q in range(h, h + 3600, 900):
                e = quarter(q)
                ledger.append(f"ledger_energy,{tag},period=15m {fields(e)},demand_w="
                              f"{4.0 * (e['import_t1'] + e['import_t2'])} {q}")
                peak = max(peak, 4 * (e["import_t1"] + e["import_t2"]))
                for k, v in e.items():
                    hour[k] = hour.get(k, 0) + v
                counts["quarters"] += 1
            ledger.append(f"ledger_energy,{tag},period=1h {fields(hour)} {h}")
            for k, v in hour.items():
                total[k] = total.get(k, 0) + v
        ledger.append(f"ledger_energy,{tag},period=1d {fields(total)},peak_demand_w={peak}.0 "
                      f"{start}")
        for k, v in total.items():
            month[k] = month.get(k, 0) + v
        month_peak = max(month_peak, peak)
        for t, res, price in prices_of_day(1, day):
            name = "PT15M" if res == 900 else "PT60M"
            raw.append(f"price_day_ahead,{tag},resolution={name},zone=10YBE----------2 "
                       f"price_eur_mwh={price!r} {t}")
            counts["prices"] += 1
        if n >= DAYS - flow_days:
            for t in range(start, end, 5):
                e = quarter(t - t % 900)
                grid = (e["import_t1"] + e["import_t2"] - e["export_t1"] - e["export_t2"]) * 4
                battery = (e["discharged"] - e["charged"]) * 4
                raw.append(f"power_flow,{tag},source=local grid_w={grid}.0,"
                           f"battery_w={battery}.0,solar_w={e['solar'] * 4}.0 {t}")
                counts["power_flow"] += 1
        following = day + timedelta(days=1)
        if following.day == 1 or n == DAYS - 1:
            first = day_bounds(day.replace(day=1))[0]
            peaks[first] = max(2500.0, month_peak)
            recent = [peaks[m] for m in sorted(peaks)[-12:]]
            ledger.append(f"ledger_energy,{tag},period=1mo {fields(month)},days={day.day}.0 "
                          f"{first}")
            ledger.append(f"ledger_peak,{tag} peak_w={month_peak}.0,billed_w={peaks[first]},"
                          f"mean_12m_w={sum(recent) / len(recent)!r} {first}")
            month, month_peak = {}, 0
        for batch, rp in ((ledger, "ledger"), (raw, None)):
            if len(batch) >= 20_000:
                server.write("jullix", "\n".join(batch), rp=rp)
                batch.clear()
    server.write("jullix", "\n".join(ledger), rp="ledger")
    if raw:
        server.write("jullix", "\n".join(raw))
    return counts


def child(config: Path, *args: str) -> tuple[float, float, str]:
    """(wall s, peak RSS MB, output) of `python -m logger ARGS`."""
    t0 = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "logger", *args, "-c", str(config)],
                          cwd=ROOT, capture_output=True, text=True, timeout=3600)
    wall = time.monotonic() - t0
    if done.returncode:
        raise RuntimeError(done.stdout + done.stderr)
    return wall, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, done.stdout


def report_ms(config: Path) -> dict[str, float]:
    from rich.console import Console

    from logger.cli import report_cost
    from logger.config import load_settings
    from logger.ledger.periods import month_bounds

    settings = load_settings(config)
    start, end = month_bounds(date(2025, 6, 1))[0], month_bounds(date(2026, 6, 1))[0]

    def once() -> float:
        t0 = time.perf_counter()
        view = asyncio.run(report_cost.cost_view(settings, start, end, "1mo", ""))
        report_cost.render(Console(file=io.StringIO(), width=80), "2025-06..2026-05", view)
        assert len(view["rows"]) == 12
        return (time.perf_counter() - t0) * 1000

    once()
    return {"in_process_median_ms": round(statistics.median(once() for _ in range(5)), 1)}


def service_cpu(server: InfluxServer, config: Path) -> dict[str, float]:
    """The cost job and the price job as the service runs them, at the end of the year."""
    from logger.app.cost_job import CostJob
    from logger.app.prices_job import PricesJob
    from logger.config import load_settings
    from logger.core.logs import get_logger
    from logger.core.problems import Problems
    from logger.outbox import Outbox

    settings = load_settings(config)
    last = FIRST + timedelta(days=DAYS - 1)
    end = day_bounds(last)[1]
    extra = end  # one more hour of the ledger arrives: the next day's first hour
    tag = f"installation={INSTALLATION}"
    outbox = Outbox(settings.outbox.path.with_name("job.sqlite"))
    job = CostJob(settings, outbox, Problems(get_logger("bench")))
    prices = PricesJob(settings.model_copy(update={"prices": settings.prices.model_copy(
        update={"token": SecretStr("unused"), "publish_time": "23:59"})}), outbox,
        Problems(get_logger("bench")))
    out: dict[str, float] = {}

    async def timed(coro) -> tuple[float, object]:
        c0 = time.process_time()
        result = await coro
        return time.process_time() - c0, result

    async def go() -> None:
        try:
            idle, report = await timed(job.run(now=end - 60))
            out["idle_update_cpu_s"] = round(idle, 3)
            out["idle_update_points"] = report.points
            lines = []
            for q in range(extra, extra + 3600, 900):
                e = quarter(q)
                lines.append(f"ledger_energy,{tag},period=15m {fields(e)} {q}")
            lines.append(f"ledger_energy,{tag},period=1h {fields(quarter(extra))} {extra}")
            server.write("jullix", "\n".join(lines), rp="ledger")
            runs = []
            for n in range(3):
                cpu, report = await timed(job.run(now=extra + 3600 + 60 + n))
                runs.append(cpu)
                if n == 0:
                    out["update_points"] = report.points
            out["update_cpu_s"] = round(statistics.median(runs), 3)
            look, _ = await timed(prices.run(now=end - 3600, monotonic=0.0))
            again, _ = await timed(prices.run(now=end - 3600 + 60, monotonic=60.0))
            out["price_job_first_look_cpu_s"] = round(look, 4)
            out["price_job_later_look_cpu_s"] = round(again, 5)
        finally:
            await job.close()
            await prices.close()
            outbox.close()

    asyncio.run(go())
    per_day = (out["update_cpu_s"] * 86400 / settings.ledger.interval
               + out["price_job_later_look_cpu_s"] * 1440)
    out["interval_s"] = settings.ledger.interval
    out["cpu_s_per_day"] = round(per_day, 2)
    out["cpu_pct_of_core"] = round(100 * per_day / 86400, 4)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flow-days", type=int, default=0)
    args = parser.parse_args()
    result: dict = {"benchmark": "cost", "machine": machine()}
    with tempfile.TemporaryDirectory(prefix="jullix-bench-") as tmp, InfluxServer() as server:
        config = write_config(Path(tmp) / "config.toml", {
            "local": {"enabled": False},
            "influx": {"url": server.url, "database": "jullix", "timeout": 120.0},
            "outbox": {"path": str(Path(tmp) / "outbox.sqlite")},
            "prices": {"url": f"{server.url}/unused"},
        }, installation=INSTALLATION)
        config.write_text(config.read_text() + TARIFF)
        child(config, "migrate")
        t0 = time.monotonic()
        result["history"] = load_year(server, args.flow_days)
        result["history"]["load_s"] = round(time.monotonic() - t0, 1)
        last = FIRST + timedelta(days=DAYS - 1)
        wall, rss, output = child(config, "cost", "--since", FIRST.isoformat(), "--until",
                                  last.isoformat())
        result["build"] = {"wall_s": round(wall, 2), "peak_rss_mb": round(rss, 1),
                           "output": output.strip()[-700:]}
        result["report_year"] = report_ms(config)
        wall, _, _ = child(config, "report", "--cost", "--year", "2025")
        result["report_year"]["command_wall_s"] = round(wall, 2)
        result["service"] = service_cpu(server, config)
    emit(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
