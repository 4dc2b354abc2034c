"""Steady-state footprint of the logger process at nominal load.

Nominal load: the local API polled every 5 s (the default) with solar and battery; `--p1` adds
the P1 stream at 1 telegram/s from the simulator (the logger's [p1] source); `--http` turns on
the `[http]` endpoint and scrapes `/metrics` every 15 s (a Prometheus default). The logger runs as
`python -m logger run` against the simulator and a private influxd. Measured on the logger's
process only:

- peak RSS: VmHWM from /proc/<pid>/status at the end (includes start-up);
- CPU: (utime + stime) from /proc/<pid>/stat over the steady window (after `--warmup`) divided
  by the wall seconds of that window, i.e. the fraction of one core.

    .venv/bin/python benchmarks/footprint.py [--seconds 60] [--warmup 10] [--p1] [--http]

Prints one JSON object; targets: peak RSS <= 60 MB, CPU <= 1 % of one core.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import Stack, cpu_seconds, emit, machine, proc_status, sleep_until


def measure(stack: Stack, seconds: float, warmup: float, scrape: bool = False,
            on_window: Callable[[str], None] | None = None) -> dict[str, Any]:
    """The logger's footprint in one steady window (see the module doc); `on_window` is told
    "start" and "end" of it (the MQTT benchmark counts messages in between)."""
    scrapes = 0
    time.sleep(warmup)
    cpu0, wall0 = cpu_seconds(stack.pid), time.monotonic()
    if on_window is not None:
        on_window("start")
    rss = []
    deadline = wall0 + seconds
    next_scrape = wall0
    while time.monotonic() < deadline:
        if scrape and stack.http_url and time.monotonic() >= next_scrape:
            with urllib.request.urlopen(stack.http_url + "/metrics", timeout=10) as r:
                scrapes += int(r.status == 200 and b"jullix_healthy" in r.read())
            next_scrape += 15.0
        rss.append(proc_status(stack.pid)["VmRSS"])
        sleep_until(min(deadline, time.monotonic() + 1.0))
    cpu1, wall1 = cpu_seconds(stack.pid), time.monotonic()
    if on_window is not None:
        on_window("end")
    status = proc_status(stack.pid)
    cpu_fraction = (cpu1 - cpu0) / (wall1 - wall0)
    return {
        "window_s": round(wall1 - wall0, 1),
        "peak_rss_mb": round(status["VmHWM"] / 1024, 1),
        "rss_end_mb": round(status["VmRSS"] / 1024, 1),
        "rss_window_min_max_mb": [round(min(rss) / 1024, 1), round(max(rss) / 1024, 1)],
        "cpu_seconds": round(cpu1 - cpu0, 3),
        "cpu_pct_of_one_core": round(100 * cpu_fraction, 3),
        "meter_points_stored": stack.stored("meter"),
        "p1_points_stored": stack.stored("p1") if stack.p1_port else None,
        "http_metrics_scrapes": scrapes if scrape else None,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="steady window (default 60)")
    parser.add_argument("--warmup", type=float, default=10.0, help="seconds before measuring")
    parser.add_argument("--interval", type=float, default=5.0, help="local poll interval")
    parser.add_argument("--p1", action="store_true", help="also the P1 stream at 1 Hz")
    parser.add_argument("--http", action="store_true",
                        help="also [http] listen, /metrics scraped every 15 s")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="jullix-bench-") as tmp:
        stack = Stack(Path(tmp), local_interval=args.interval, p1=args.p1, http=args.http)
        try:
            result = measure(stack, args.seconds, args.warmup, scrape=args.http)
        finally:
            code = stack.close()
    peak, cpu = result["peak_rss_mb"], result["cpu_pct_of_one_core"]
    emit({
        "benchmark": "footprint",
        "machine": machine(),
        "load": {"local_interval_s": args.interval, "p1_hz": 1 if args.p1 else 0,
                 "http_metrics_scrapes": result.pop("http_metrics_scrapes")},
        **result,
        "logger_exit_code": code,
        "targets": {"peak_rss_mb_max": 60, "cpu_pct_max": 1.0,
                    "peak_rss_ok": peak <= 60, "cpu_ok": cpu <= 1.0},
    })
    return 0

if __name__ == "__main__":
    sys.exit(main())
