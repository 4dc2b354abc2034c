"""Outbox drain throughput after a backlog, against posting the same lines straight to InfluxDB.

1. Build a backlog of `--points` (default 1,000,000) realistic points directly in an outbox
   (`Outbox.put` + `commit` in chunks): the per-poll mix of meter, solar, battery and power_flow
   points with the fields the local collector writes, one poll per second of simulated time.
2. Baseline ("direct"): the same line protocol POSTed straight to `/write` of a private influxd
   (Debian's 1.6) in batches of 5,000 with httpx, into a fresh database. The backlog is built as
   `--rounds` outboxes, and the direct post and the drain alternate round by round, in
   alternating order (a busy machine, and influxd's compactions after each phase, then slow
   both alike); the ratio is total points over total seconds of each.
3. The logger's path: `Delivery.drain` (peek 5,000 rows, V1Writer POST, acknowledge; for a
   backlog of full batches pipelined: while batch N is POSTed, a worker thread records batch N-1
   as confirmed, moving the outbox's watermark, and reads N+1) until the outbox is empty, into
   another fresh database of the same server. The drain deletes one chunk of the confirmed rows
   once the queue has run dry (inside its time); the rest are deleted by later drains (the
   service runs one a second). That cleanup is timed on its own afterwards (`cleanup_s`, the
   same `purge_confirmed` calls), and reported with the drain as `with_cleanup_over_direct`.

Prints one JSON object; target (issue 14): drain >= 80 % of the direct-post rate.

    .venv/bin/python benchmarks/drain.py [--points 1000000] [--batch 5000] [--rounds 4]
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx
from _common import InfluxServer, emit, machine

from logger.app.delivery import PURGE_ROWS, Delivery
from logger.config import InfluxSettings
from logger.core.point import Point
from logger.outbox import Outbox
from logger.sink.writers import V1Writer

START = int(datetime(2025, 1, 1, tzinfo=UTC).timestamp())


def poll_points(second: int) -> list[Point]:
    """One poll's points, values varying like a house's (meter, 2 inverters, battery, flow)."""
    k = second - START
    home = {"installation": "home"}
    power = 1000.0 + (k * 37) % 2500
    points = [
        Point.make("meter", {**home, "meter_id": "1SAG3101021605"}, {
            "power_import_w": power, "power_export_w": 0.0,
            "energy_import_t1_kwh": 14808.845 + k / 3600, "energy_import_t2_kwh": 19642.892,
            "energy_export_t1_kwh": 12128.642, "energy_export_t2_kwh": 4594.657,
            "voltage_l1_v": 232.5, "voltage_l3_v": 232.8, "gas_m3": 3986.686 + k / 1e5,
            "water_m3": 123.456, "captar_avg_w": 2803.0, "captar_month_max_w": 3303.0,
        }, second),
        Point.make("solar", {**home, "device_id": "SA1234567890", "localid": "A01"},
                   {"power_w": (k * 13) % 5000 * 1.0, "energy_kwh": 954.5 + k / 36000,
                    "fault": 0.0, "direct_timeout": 0.0}, second),
        Point.make("solar", {**home, "device_id": "SA1234567890", "localid": "T01"},
                   {"power_w": (k * 7) % 3000 * 1.0, "energy_kwh": 512.1 + k / 36000,
                    "fault": 0.0, "direct_timeout": 0.0}, second),
        Point.make("battery", {**home, "device_id": "SA1234567890", "localid": "A01"},
                   {"power_w": -500.0 + k % 1000, "energy_charged_kwh": 506.2,
                    "energy_discharged_kwh": 504.8, "voltage_v": 50.6, "soc_pct": k % 100 * 1.0,
                    "fault": 0.0, "direct_timeout": 0.0}, second),
        Point.make("power_flow", {**home, "source": "local"},
                   {"grid_w": power, "solar_w": 2500.0, "battery_w": -300.0, "car_w": 0.0,
                    "home_w": power + 2200.0}, second),
    ]
    return [p for p in points if p is not None]


def build_backlog(path: Path, count: int, second: int = START) -> tuple[int, float, int]:
    """An outbox of `count` points from `second` on; returns depth, seconds, next second."""
    outbox = Outbox(path, max_mb=100_000)
    began = time.monotonic()
    made = 0
    while made < count:
        points = poll_points(second)[: count - made]
        outbox.put(points)
        made += len(points)
        second += 1
        if outbox.pending >= 20_000:
            outbox.commit()
    outbox.commit()
    depth = outbox.depth()
    outbox.close()
    return depth, time.monotonic() - began, second


def read_lines(path: Path) -> list[str]:
    outbox = Outbox(path, read_only=True)
    try:
        return list(outbox.iter_lines())
    finally:
        outbox.close()


async def post_direct(url: str, db: str, lines: list[str], batch: int) -> float:
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        began = time.monotonic()
        for start in range(0, len(lines), batch):
            body = ("\n".join(lines[start:start + batch]) + "\n").encode()
            response = await client.post("/write", params={"db": db, "precision": "s"},
                                         content=body)
            if response.status_code != 204:
                raise RuntimeError(f"direct post: HTTP {response.status_code} {response.text}")
        return time.monotonic() - began


async def drain(url: str, db: str, path: Path, batch: int
                ) -> tuple[float, int, int, float, int]:
    """Drain seconds, points written, points left; cleanup seconds, rows left in the file."""
    outbox = Outbox(path, max_mb=100_000)
    writer = V1Writer(InfluxSettings(url=url, database=db, timeout=60, batch_size=batch))
    delivery = Delivery(outbox, writer, batch)
    try:
        began = time.monotonic()
        report = await delivery.drain()
        elapsed = time.monotonic() - began
        outbox.commit()
        began = time.monotonic()
        while outbox.purge_confirmed(PURGE_ROWS):
            pass
        cleanup = time.monotonic() - began
        return elapsed, report.written, outbox.depth(), cleanup, rows_in_file(path)
    finally:
        await writer.close()
        outbox.close()


def rows_in_file(path: Path) -> int:
    """Rows physically left in the queue table, confirmed or not."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return int(db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])
    finally:
        db.close()


def count(server: InfluxServer, db: str) -> int:
    total = 0
    for measurement in ("meter", "solar", "battery", "power_flow"):
        series = server.query(f'SELECT COUNT("power_w") FROM "{measurement}"' if measurement in
                              ("solar", "battery") else
                              f'SELECT COUNT(*) FROM "{measurement}"', db=db)
        for s in series["results"][0].get("series", []):
            total += max(v for v in s["values"][0][1:] if v is not None)
    return total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=4, help="alternations direct/drain")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="jullix-drain-") as tmp, InfluxServer() as server:
        # `--rounds` outboxes, each a slice of the backlog; direct post and drain alternate
        # round by round, so a neighbour's load on this machine hits both alike.
        paths, depth, build_s, second = [], 0, 0.0, START
        for number in range(args.rounds):
            path = Path(tmp) / f"outbox-{number}.sqlite"
            made, took, second = build_backlog(path, args.points // args.rounds, second)
            paths.append(path)
            depth, build_s = depth + made, build_s + took
        size_mb = sum(p.stat().st_size for p in paths) / 1e6
        server.create_database("direct")
        server.create_database("drained")
        direct_s = drain_s = cleanup_s = 0.0
        written = left = rows_left = 0
        rounds = []
        for number, path in enumerate(paths):
            lines = read_lines(path)
            # The order alternates too: whichever phase comes second pays for the compactions
            # influxd runs after the first.
            if number % 2:
                took_drain, done, rest, cleanup, rows = asyncio.run(
                    drain(server.url, "drained", path, args.batch))
            took_direct = asyncio.run(post_direct(server.url, "direct", lines, args.batch))
            del lines
            if not number % 2:
                took_drain, done, rest, cleanup, rows = asyncio.run(
                    drain(server.url, "drained", path, args.batch))
            direct_s, drain_s = direct_s + took_direct, drain_s + took_drain
            written, left = written + done, left + rest
            cleanup_s, rows_left = cleanup_s + cleanup, rows_left + rows
            rounds.append(round(took_direct / took_drain, 3))
        stored_direct, stored_drained = count(server, "direct"), count(server, "drained")
    direct_rate, drain_rate = depth / direct_s, written / drain_s
    emit({
        "benchmark": "drain",
        "machine": machine(),
        "backlog_points": depth,
        "rounds": args.rounds,
        "outbox_file_mb": round(size_mb, 1),
        "build_backlog_s": round(build_s, 1),
        "batch": args.batch,
        "direct_post_s": round(direct_s, 1),
        "direct_points_per_s": round(direct_rate),
        "drain_s": round(drain_s, 1),
        "drain_points_per_s": round(drain_rate),
        "drain_over_direct": round(drain_rate / direct_rate, 3),
        "drain_over_direct_per_round": rounds,
        "cleanup_s": round(cleanup_s, 1),
        "with_cleanup_over_direct": round(written / (drain_s + cleanup_s) / direct_rate, 3),
        "rows_left_in_file": rows_left,
        "stored_direct": stored_direct,
        "stored_drained": stored_drained,
        "left_in_outbox": left,
        "target_ratio_min": 0.8,
        "target_ok": drain_rate / direct_rate >= 0.8,
    })
    return 0


if __name__ == "__main__":
    sys.exit(main())
