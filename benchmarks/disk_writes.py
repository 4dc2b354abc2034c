"""Disk writes of the logger process at nominal load: what an SD card would have to absorb.

The logger runs as `python -m logger run` against the simulator (local poll every 5 s with solar
and battery; `--p1` adds the P1 stream at 1 telegram/s) and a private influxd, with its outbox in
a temporary directory on a real disk (not tmpfs). After `--warmup` seconds, for `--seconds`:

- `write_bytes` of the logger process (/proc/<pid>/io: bytes it caused to be sent to storage,
  counted when the page is dirtied, so page-cache writeback later is included), per hour;
- `syscw` (/proc/<pid>/io: every write syscall, sockets and the log pipe included), per second;
- fsync/fdatasync calls and write syscalls on files, counted by `strace -c -f` attached to the
  process for the window (skipped with `--no-strace` or when strace is missing);
- the growth of the outbox files (outbox.sqlite, -wal, -shm), in bytes.

`--influx down` stops influxd right after the warm-up (the migrations have run) and starts it
again after the window (`--seconds 600`: a ten-minute outage); the logger must then deliver the
outage's backlog. At the end the logger is stopped (SIGTERM) and the script compares, by
timestamp, what InfluxDB holds with what the simulator served: meter readings and valid P1
telegrams (missing, unexpected, duplicated), and how long the backlog took.

    .venv/bin/python benchmarks/disk_writes.py [--p1] [--influx healthy|down] [--seconds 60]

Prints one JSON object; target (issue 14): <= 10 MB/h written with P1, InfluxDB healthy.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import ROOT, Stack, emit, machine, sleep_until
from harness import served_utc_seconds

_STRACE_ROW = re.compile(r"^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(\w+)\s*$")


def proc_io(pid: int) -> dict[str, int]:
    values = {}
    for line in Path(f"/proc/{pid}/io").read_text().splitlines():
        key, _, rest = line.partition(":")
        values[key] = int(rest)
    return values


def outbox_bytes(directory: Path) -> int:
    return sum(p.stat().st_size for p in directory.glob("outbox.sqlite*"))


def start_strace(pid: int, out: Path) -> subprocess.Popen[bytes] | None:
    if shutil.which("strace") is None:
        return None
    proc = subprocess.Popen(
        ["strace", "-f", "-c", "-o", str(out), "-e",
         "trace=fsync,fdatasync,sync_file_range,pwrite64,write,writev", "-p", str(pid)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)  # attach
    return proc


def stop_strace(proc: subprocess.Popen[bytes] | None, out: Path) -> dict[str, int] | None:
    if proc is None:
        return None
    proc.send_signal(signal.SIGINT)
    proc.wait(10)
    calls = {}
    for line in out.read_text().splitlines():
        match = _STRACE_ROW.match(line)
        if match and match.group(2) != "total":
            calls[match.group(2)] = int(match.group(1))
    return calls


def delivered(stack: Stack, p1: bool) -> dict[str, object]:
    """What InfluxDB holds against what the simulator served (meter readings, and the valid
    P1 telegrams sent to a connected logger), by timestamp: missing and unexpected."""
    result: dict[str, object] = {}
    ok = True
    truths = {"meter": set(served_utc_seconds(stack.sim.served()))}
    if p1:
        sent = stack.sim.control("GET", "p1")["sent"]
        truths["p1"] = {s["t"] for s in sent if s["clients"] > 0 and s["kind"] == "valid"}
    for measurement, truth in truths.items():
        try:
            rows = stack.influx.points("jullix", measurement)
        except Exception:
            rows = []
        times = [row["time"] for row in rows]
        missing, unexpected = len(truth - set(times)), len(set(times) - truth)
        result[measurement] = {"served": len(truth), "stored": len(times),
                               "missing": missing, "unexpected": unexpected,
                               "duplicated": len(times) - len(set(times))}
        ok = ok and not missing
    result["all"] = ok
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="window (default 60)")
    parser.add_argument("--warmup", type=float, default=10.0, help="seconds before measuring")
    parser.add_argument("--p1", action="store_true", help="also the P1 stream at 1 Hz")
    parser.add_argument("--influx", choices=("healthy", "down"), default="healthy")
    parser.add_argument("--no-strace", action="store_true", help="do not count fsyncs")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="jullix-disk-", dir=os.environ.get("TMPDIR")) as tmp:
        directory = Path(tmp)
        stack = Stack(directory, p1=args.p1)
        strace_out = directory / "strace.txt"
        delivered_s = None
        try:
            time.sleep(args.warmup)
            if args.influx == "down":
                stack.influx.stop()
            tracer = None if args.no_strace else start_strace(stack.pid, strace_out)
            io0, files0, wall0 = proc_io(stack.pid), outbox_bytes(directory), time.monotonic()
            sleep_until(wall0 + args.seconds)
            io1, files1, wall1 = proc_io(stack.pid), outbox_bytes(directory), time.monotonic()
            calls = stop_strace(tracer, strace_out)
            if args.influx == "down":
                stack.influx.start()
                began = time.monotonic()
                while time.monotonic() - began < 300 and not delivered(stack, args.p1)["all"]:
                    time.sleep(0.5)
                delivered_s = round(time.monotonic() - began, 1)
            code = stack.logger.stop()  # its shutdown flush delivers the last points
            accounting = delivered(stack, args.p1)
        finally:
            stack.close()
    seconds = wall1 - wall0
    per_hour = 3600 / seconds
    written = io1["write_bytes"] - io0["write_bytes"]
    mb_per_hour = written * per_hour / 1e6
    fsyncs = None if calls is None else calls.get("fsync", 0) + calls.get("fdatasync", 0)
    emit({
        "benchmark": "disk_writes",
        "machine": machine(),
        "code": str(ROOT),
        "load": {"local_interval_s": 5.0, "p1_hz": 1 if args.p1 else 0,
                 "influx": args.influx},
        "window_s": round(seconds, 1),
        "write_bytes": written,
        "write_mb_per_hour": round(mb_per_hour, 2),
        "write_syscalls_per_s": round((io1["syscw"] - io0["syscw"]) / seconds, 2),
        "wchar_per_s": round((io1["wchar"] - io0["wchar"]) / seconds),
        "fsyncs": fsyncs,
        "fsyncs_per_hour": None if fsyncs is None else round(fsyncs * per_hour),
        "strace_calls": calls,
        "outbox_files_growth_bytes": files1 - files0,
        "outbox_files_bytes_end": files1,
        "delivered": accounting,
        "backlog_delivered_after_restart_s": delivered_s,
        "logger_exit_code": code,
        "target": {"write_mb_per_hour_max": 10, "applies": args.p1 and args.influx == "healthy",
                   "ok": mb_per_hour <= 10},
    })
    return 0


if __name__ == "__main__":
    sys.exit(main())
