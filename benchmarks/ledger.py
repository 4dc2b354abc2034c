"""The energy ledger on a year of history: build time, peak RSS, query speed, service CPU.

History written into a private influxd (Debian's 1.6, loopback), generated here with exact
integer counters (no physics: a deterministic load/solar pattern, so a year takes seconds, not
the simulator's hours): the local `meter` every 5 s for `--days` days (registers as the box
prints them, 3 decimals) and, for the last `--p1-days`, P1-like `p1` readings every second of the
same counters, plus one two-hour gap with a `power_flow` profile inside it.

Then:
1. `python -m logger ledger --since ... --until ...` as a child process: wall time and peak RSS
   (`ru_maxrss` of the child).
2. "daily import and export for a year": from the ledger (`ledger_energy`, `period='1d'`) and from
   the raw `meter` series (`spread()` of the four registers per Belgian day, the cheapest correct
   raw query): median of 5 runs each after a warm-up, same server, same run.
3. The service's CPU for keeping it current: `LedgerJob.run` (the service's own job, with the
   default `recheck_days` and `interval`) on the last day (1 s P1 and 5 s meter readings), its
   ledger removed first: at 23:30 a first update (the day so far, never seen: the worst single
   update), then `--updates` more (continuing from the last complete hour: the steady case), then
   one after midnight that completes the day and its month. CPU seconds of this process per
   update (`time.process_time`); per day = completion + (96 - 1) x incremental; divided by
   86,400 s = fraction of one core.

    .venv/bin/python benchmarks/ledger.py [--days 365] [--p1-days 31]

Prints one JSON object. Targets: build <= 600 s, peak RSS <= 80 MB, ledger query >= 50x faster
than raw and < 200 ms, CPU rise <= 0.1 % of a core.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from datetime import date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import ROOT, InfluxServer, emit, machine, write_config

from logger.core.belgian_time import BRUSSELS

INSTALLATION = "bench"
METER_ID = "1SAG3101021605"
GAP_HOURS = 2


def _mix(x: int) -> int:
    x = (x * 0x9E3779B97F4A7C15 + 0x632BE59BD9B4E019) & 0xFFFFFFFFFFFFFFFF
    return (x ^ (x >> 29)) & 0xFFFFFFFF


def grid_power(t: int) -> int:
    """Deterministic grid power in W (+ import, - export) for second t."""
    local_h = ((t + 3600) % 86400) / 3600
    doy = (t // 86400) % 365
    summer = 1 - abs(doy - 172) / 182
    solar = max(0.0, 4500 * summer * (1 - abs(local_h - 13.5) / 5.5)) if 8 <= local_h <= 19 else 0
    load = 300 + (1800 if 18 <= local_h < 21 else 0) + (_mix(t // 60) % 400)
    if _mix(t // 900 + 7) % 40 == 0:
        load += 6000  # an appliance or a car for a quarter-hour
    return int(load - solar)


def is_night(t: int) -> bool:
    local = datetime.fromtimestamp(t, BRUSSELS)
    return local.weekday() >= 5 or local.hour >= 22 or local.hour < 7


def kwh(joules: int) -> str:
    wh = joules // 3600
    return f"{wh // 1000}.{wh % 1000:03d}"


def load_history(server: InfluxServer, start: int, end: int, p1_from: int, gap: tuple[int, int]
                 ) -> dict[str, int]:
    """Write the history in one-day batches; returns point counts."""
    imp = [8_000 * 3_600_000, 9_000 * 3_600_000]
    exp = [4_000 * 3_600_000, 1_500 * 3_600_000]
    counts = {"meter": 0, "p1": 0, "power_flow": 0}
    lines: list[str] = []
    night = False
    for t in range(start, end + 1):
        if t % 3600 == 0:
            night = is_night(t)
        p = grid_power(t)
        if p > 0:
            imp[night] += p
        else:
            exp[night] -= p
        in_gap = gap[0] <= t < gap[1]
        registers = (f"energy_export_t1_kwh={kwh(exp[0])},energy_export_t2_kwh={kwh(exp[1])},"
                     f"energy_import_t1_kwh={kwh(imp[0])},energy_import_t2_kwh={kwh(imp[1])}")
        powers = f"power_export_w={max(-p, 0)}.0,power_import_w={max(p, 0)}.0"
        if t % 5 == 0 and not in_gap:
            lines.append(f"meter,installation={INSTALLATION},meter_id={METER_ID} "
                         f"{registers},{powers} {t}")
            counts["meter"] += 1
        if t >= p1_from and not in_gap:
            lines.append(f"p1,installation={INSTALLATION},meter_id={METER_ID} "
                         f"{registers},{powers},tariff={2 if night else 1}.0 {t}")
            counts["p1"] += 1
        if in_gap and t % 300 == 0:
            lines.append(f"power_flow,installation={INSTALLATION},source=cloud grid_w={p}.0 {t}")
            counts["power_flow"] += 1
        if len(lines) >= 50_000:
            server.write("jullix", "\n".join(lines))
            lines = []
    if lines:
        server.write("jullix", "\n".join(lines))
    return counts


def timed_query(server: InfluxServer, q: str, runs: int = 5) -> tuple[float, int]:
    """Median wall ms of `q` over `runs` (after one warm-up), and the rows of its answer."""
    params = urllib.parse.urlencode({"q": q, "db": "jullix", "epoch": "s"})
    url = f"{server.url}/query?{params}"

    def once() -> tuple[float, int]:
        t0 = time.perf_counter()
        with urllib.request.urlopen(url, timeout=600) as response:
            body = json.loads(response.read())
        ms = (time.perf_counter() - t0) * 1000
        series = body["results"][0].get("series") or []
        return ms, sum(len(s["values"]) for s in series)

    once()
    results = [once() for _ in range(runs)]
    return statistics.median(r[0] for r in results), results[0][1]


def service_cpu(server: InfluxServer, config: Path, day_start: int, day_end: int,
                runs: int) -> dict[str, float]:
    """The service's job on the last day, as the service meets it: at 23:30 the first update
    computes the day so far (it never saw it: the worst single update), later ones continue
    from the last complete hour; after midnight one update completes the day (and its month).
    """
    from logger.app.ledger_job import LedgerJob
    from logger.config import load_settings
    from logger.core.logs import get_logger
    from logger.core.problems import Problems
    from logger.outbox import Outbox

    for measurement in ("ledger_energy", "ledger_device"):  # the last day: not built yet
        server.query(f'DELETE FROM "{measurement}" WHERE time >= {day_start}s', db="jullix")
    settings = load_settings(config)
    outbox = Outbox(settings.outbox.path.with_name("job.sqlite"))
    job = LedgerJob(settings, outbox, Problems(get_logger("bench")))
    measured: dict[str, list[float]] = {"first": [], "incremental": [], "completion": []}

    async def one(kind: str, now: int) -> None:
        c0, w0 = time.process_time(), time.perf_counter()
        result = await job.run(now=now)
        measured[kind].append(time.process_time() - c0)
        measured[kind + "_wall"] = [time.perf_counter() - w0]
        measured[kind + "_days"] = [len(result.days) - len(result.partial)]
        outbox.commit()
        await deliver(outbox, settings)

    async def go() -> None:
        try:
            await one("first", day_end - 1800)
            for _ in range(runs):
                await one("incremental", day_end - 1800)
            await one("completion", day_end + 60)
        finally:
            await job.close()
            outbox.close()

    asyncio.run(go())
    first, inc = measured["first"][0], statistics.median(measured["incremental"])
    completion = measured["completion"][0]
    per_day = completion + (86400 / settings.ledger.interval - 1) * inc
    return {"first_update_cpu_s": round(first, 3),
            "incremental_update_cpu_s": round(inc, 3),
            "day_completion_cpu_s": round(completion, 3),
            "full_days_in_completion": measured["completion_days"][0],
            "interval_s": settings.ledger.interval,
            "cpu_s_per_day": round(per_day, 2),
            "cpu_pct_of_core": round(100 * per_day / 86400, 4)}


async def deliver(outbox, settings) -> None:
    from logger.app.delivery import Delivery, deliver_all
    from logger.sink.gate import SinkGate
    from logger.sink.targets import ledger_influx, make_routed_writer

    delivery = Delivery(outbox, make_routed_writer(settings), 5000)
    try:
        await deliver_all(outbox, SinkGate(settings.influx, ledger_influx(settings)), delivery,
                          120)
    finally:
        await delivery.writer.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--p1-days", type=int, default=31)
    parser.add_argument("--updates", type=int, default=3, help="job runs measured")
    args = parser.parse_args()
    last_day = date(2026, 11, 25)
    first_day = last_day - timedelta(days=args.days - 1)
    start = int(datetime(first_day.year, first_day.month, first_day.day,
                         tzinfo=BRUSSELS).timestamp())
    end_day = last_day + timedelta(days=1)
    end = int(datetime(end_day.year, end_day.month, end_day.day, tzinfo=BRUSSELS).timestamp())
    p1_from = end - args.p1_days * 86400
    gap_start = p1_from + 10 * 86400 + 10 * 3600 + 123
    gap = (gap_start, gap_start + GAP_HOURS * 3600)
    result: dict = {"benchmark": "ledger", "machine": machine(),
                    "history": {"days": args.days, "p1_days": args.p1_days,
                                "first_day": first_day.isoformat(),
                                "last_day": last_day.isoformat()}}
    with tempfile.TemporaryDirectory(prefix="jullix-bench-") as tmp, InfluxServer() as server:
        server.create_database("jullix")
        t0 = time.monotonic()
        counts = load_history(server, start - 3600, end, p1_from, gap)
        result["history"].update(counts, load_s=round(time.monotonic() - t0, 1))
        config = write_config(Path(tmp) / "config.toml", {
            "local": {"enabled": False},
            "influx": {"url": server.url, "database": "jullix", "timeout": 120.0},
            "outbox": {"path": str(Path(tmp) / "outbox.sqlite")},
        }, installation=INSTALLATION)
        t0 = time.monotonic()
        build = subprocess.run(
            [sys.executable, "-m", "logger", "ledger", "-c", str(config), "--since",
             first_day.isoformat(), "--until", last_day.isoformat()],
            cwd=ROOT, capture_output=True, text=True, timeout=3600)
        build_s = time.monotonic() - t0
        peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        result["build"] = {"wall_s": round(build_s, 1), "peak_rss_mb": round(peak_kb / 1024, 1),
                           "exit": build.returncode, "output": build.stdout.strip()[-600:],
                           "stderr": build.stderr.strip()[-400:]}
        tz = "tz('Europe/Brussels')"
        year = f"time >= {start}s AND time < {end}s"
        raw_q = ("SELECT spread(energy_import_t1_kwh), spread(energy_import_t2_kwh), "
                 "spread(energy_export_t1_kwh), spread(energy_export_t2_kwh) FROM meter "
                 f"WHERE installation = '{INSTALLATION}' AND {year} GROUP BY time(1d) {tz}")
        ledger_q = ('SELECT import_kwh, export_kwh FROM "jullix"."ledger"."ledger_energy" '
                    f"WHERE installation = '{INSTALLATION}' AND period = '1d' AND {year}")
        raw_ms, raw_rows = timed_query(server, raw_q)
        ledger_ms, ledger_rows = timed_query(server, ledger_q)
        result["daily_query"] = {"raw_ms": round(raw_ms, 1), "raw_rows": raw_rows,
                                 "ledger_ms": round(ledger_ms, 1), "ledger_rows": ledger_rows,
                                 "speedup": round(raw_ms / ledger_ms, 1)}
        result["service_update"] = service_cpu(server, config, end - 86400, end, args.updates)
    emit(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
