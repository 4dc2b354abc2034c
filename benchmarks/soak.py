"""Soak: the logger at nominal load for `--minutes` (default 30); does its RSS grow?

Same stack as `footprint.py` (local poll every 5 s; `--p1` adds the P1 stream at 1 Hz). VmRSS of
the logger process is sampled every `--every` seconds. Growth is judged on the steady part (after
the first `--settle` minutes): the least-squares slope in kB per hour and the difference between
the mean of the first and the last 5 minutes of that part.

    .venv/bin/python benchmarks/soak.py [--minutes 30] [--p1] [--every 10]

Prints one JSON object (with every sample); target: no RSS growth (slope < 1 MB/h and the last
5 minutes within 1 MB of the first 5 of the steady part).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import Stack, cpu_seconds, emit, machine, proc_status, sleep_until


def slope_per_hour(samples: list[tuple[float, int]]) -> float:
    n = len(samples)
    if n < 2:
        return 0.0
    mean_t = sum(t for t, _ in samples) / n
    mean_v = sum(v for _, v in samples) / n
    var = sum((t - mean_t) ** 2 for t, _ in samples)
    cov = sum((t - mean_t) * (v - mean_v) for t, v in samples)
    return cov / var * 3600 if var else 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--every", type=float, default=10.0, help="seconds between samples")
    parser.add_argument("--settle", type=float, default=2.0, help="minutes not judged")
    parser.add_argument("--interval", type=float, default=5.0, help="local poll interval")
    parser.add_argument("--p1", action="store_true", help="also the P1 stream at 1 Hz")
    args = parser.parse_args()
    samples: list[tuple[float, int]] = []
    with tempfile.TemporaryDirectory(prefix="jullix-soak-") as tmp:
        stack = Stack(Path(tmp), local_interval=args.interval, p1=args.p1)
        try:
            start = time.monotonic()
            cpu0 = cpu_seconds(stack.pid)
            deadline = start + args.minutes * 60
            while time.monotonic() < deadline and stack.alive():
                samples.append((time.monotonic() - start, proc_status(stack.pid)["VmRSS"]))
                sleep_until(min(deadline, time.monotonic() + args.every))
            cpu = cpu_seconds(stack.pid) - cpu0
            wall = time.monotonic() - start
            status = proc_status(stack.pid)
            meter_points = stack.stored("meter")
        finally:
            code = stack.close()
    steady = [(t, v) for t, v in samples if t >= args.settle * 60] or samples
    window = 300.0
    first = [v for t, v in steady if t < steady[0][0] + window]
    last = [v for t, v in steady if t > steady[-1][0] - window]
    slope = slope_per_hour(steady)
    delta = (sum(last) / len(last) - sum(first) / len(first)) / 1024
    emit({
        "benchmark": "soak",
        "machine": machine(),
        "minutes": round(wall / 60, 1),
        "load": {"local_interval_s": args.interval, "p1_hz": 1 if args.p1 else 0},
        "peak_rss_mb": round(status["VmHWM"] / 1024, 1),
        "rss_start_mb": round(samples[0][1] / 1024, 1),
        "rss_end_mb": round(samples[-1][1] / 1024, 1),
        "steady_slope_mb_per_hour": round(slope / 1024, 3),
        "steady_last5_minus_first5_mb": round(delta, 3),
        "cpu_pct_of_one_core": round(100 * cpu / wall, 3),
        "meter_points_stored": meter_points,
        "logger_exit_code": code,
        "rss_growth": not (abs(slope / 1024) < 1.0 and delta < 1.0),
        "samples_s_kb": [(round(t), v) for t, v in samples],
    })
    return 0


if __name__ == "__main__":
    sys.exit(main())
