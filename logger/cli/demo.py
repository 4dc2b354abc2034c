"""`jullix-logger demo`: the whole path in one command, on the built-in simulator.

Where the data goes, in order of preference: the InfluxDB given on the command line or in the
config (when it answers), one answering on 127.0.0.1:8086 (database `jullix_demo`), a private
`influxd` started in a temp dir (when the binary is installed), else the embedded outbox store.
Then it prints what was logged.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import tempfile
import textwrap
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from logger.cli.logs import setup_logging
from logger.config import (
    InfluxSettings,
    LocalSettings,
    OutboxSettings,
    Settings,
    load_settings,
    resolve_config_path,
)
from logger.core.line_protocol import measurement_of_line
from logger.outbox import Outbox
from logger.sink.influxql import InfluxQL, QueryError

LOCAL_INFLUXDB = "http://127.0.0.1:8086"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seconds", type=float, default=30.0,
                        help="how long to log (default 30)")
    parser.add_argument("--speed", type=float, default=1.0,
                        help="simulated seconds per real second (default 1)")
    parser.add_argument("--seed", type=int, default=1, help="simulator seed (default 1)")
    parser.add_argument("--influx-url", default=None,
                        help="InfluxDB 1.x URL to write into (default: config, else a private "
                        "influxd if installed, else the embedded store)")


def run(args: argparse.Namespace) -> int:
    setup_logging(args.log_level or "WARNING")
    return asyncio.run(run_demo(args))


async def _reachable(settings: InfluxSettings) -> bool:
    reader = InfluxQL(settings)
    try:
        await reader.ping()
        return True
    except QueryError:
        return False
    finally:
        await reader.close()


async def _choose_influx(args: argparse.Namespace, stack: contextlib.ExitStack) -> tuple[
    InfluxSettings, str
]:
    """The InfluxDB to write into and a phrase saying where it came from."""
    if args.influx_url:
        chosen = InfluxSettings(url=args.influx_url, api="v1", database="jullix_demo")
        return chosen, f"InfluxDB at {args.influx_url}"
    path = resolve_config_path(getattr(args, "config", None))
    configured = load_settings(path).influx if path else None
    if configured and configured.configured and await _reachable(configured):
        return configured, f"the configured InfluxDB at {configured.display_url}"
    local_default = InfluxSettings(url=LOCAL_INFLUXDB, api="v1", database="jullix_demo",
                                   timeout=2.0)
    if await _reachable(local_default):
        return local_default, f"the InfluxDB at {LOCAL_INFLUXDB} (database jullix_demo)"
    from logger.testbed.influxd import InfluxServer, influxd_path

    if influxd_path():
        server = InfluxServer()
        stack.callback(server.close)
        server.start()
        chosen = InfluxSettings(url=server.url, api="v1", database="jullix_demo")
        return chosen, f"a private influxd started for this demo at {server.url}"
    return InfluxSettings(url=""), "the embedded outbox store (no InfluxDB found)"


async def run_demo(args: argparse.Namespace) -> int:
    from logger.app.service import Service
    from logger.testbed.simulator import Simulator, SimulatorConfig

    out = sys.stdout
    with contextlib.ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="jullix-demo-")))
        influx, where = await _choose_influx(args, stack)
        simulator = Simulator(SimulatorConfig(seed=args.seed, speed=args.speed))
        await simulator.start()
        try:
            settings = Settings(
                installation="demo",
                local=LocalSettings(url=simulator.local_url, interval=2.0, timeout=2.0),
                influx=influx,
                outbox=OutboxSettings(path=workdir / "outbox.sqlite"),
            )
            out.write(f"simulated Jullix box at {simulator.local_url}\n")
            out.write(f"logging for {args.seconds:g} s into {where} ...\n")
            out.flush()
            service = Service(settings)
            await service.run(duration=args.seconds)
            served = len(simulator.served_meter_times)
        finally:
            await simulator.stop()
        if influx.configured:
            rows = await _summary_from_influx(influx)
        else:
            rows = _summary_from_outbox(settings.outbox.path)
        _print_summary(rows, out)
        meter_points = next((r["count"] for r in rows if r["measurement"] == "meter"), 0)
        out.write(f"\nsimulator served {served} distinct meter readings; "
                  f"{meter_points} meter points logged\n")
        if not influx.configured:
            out.write("(export them with: jullix-logger export, using a config whose "
                      "[outbox] path points at the store)\n")
    return 0 if meter_points else 1


async def _summary_from_influx(settings: InfluxSettings) -> list[dict[str, Any]]:
    reader = InfluxQL(settings)
    rows: list[dict[str, Any]] = []
    try:
        measurements = await reader.query("SHOW MEASUREMENTS")
        # Measurements starting with "_" are the logger's own records (migrations), not data.
        names = [v[0] for s in measurements for v in s.get("values") or []
                 if not v[0].startswith("_")]
        for name in names:
            series = await reader.query(f'SELECT * FROM "{name}" GROUP BY *')
            count = 0
            latest: dict[str, Any] = {}
            latest_time = -1
            for s in series:
                columns = s["columns"]
                values = s.get("values") or []
                count += len(values)
                last = dict(zip(columns, values[-1], strict=False)) if values else {}
                if last and last["time"] > latest_time:
                    latest_time = last["time"]
                    latest = {**s.get("tags", {}), **last}
            rows.append({"measurement": name, "count": count, "latest": latest})
    finally:
        await reader.close()
    return rows


def _summary_from_outbox(path: Path) -> list[dict[str, Any]]:
    outbox = Outbox(path, read_only=True)
    counts: dict[str, int] = defaultdict(int)
    latest: dict[str, str] = {}
    try:
        for line in outbox.iter_lines():
            measurement = measurement_of_line(line)
            counts[measurement] += 1
            latest[measurement] = line
    finally:
        outbox.close()
    return [{"measurement": m, "count": counts[m], "latest": {"line": latest[m]}}
            for m in sorted(counts)]


def _print_summary(rows: list[dict[str, Any]], out: Any) -> None:
    """Per measurement: how many points, and the latest point's tags and fields, wrapped."""
    out.write("\nwhat was logged:\n")
    for row in rows:
        latest = {k: v for k, v in row["latest"].items() if v is not None}
        when = latest.pop("time", None)
        header = f"{row['measurement']}: {row['count']} points"
        if when is not None:
            header += f", latest at {_fmt(when)}"
        out.write(header + "\n")
        shown = ", ".join(f"{k}={_fmt(v)}" for k, v in sorted(latest.items()))
        out.write(textwrap.fill(shown, width=96, initial_indent="    ",
                                subsequent_indent="    ") + "\n")
    if not rows:
        out.write("(nothing logged)\n")


def _fmt(value: Any) -> str:
    if isinstance(value, int) and value > 1_000_000_000:
        return datetime.fromtimestamp(value, UTC).isoformat(timespec="seconds")
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)
