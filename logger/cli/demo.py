"""`jullix-logger demo`: the whole path in one command, on the built-in simulator.

All three sources of a real box: the local API (every device type), the P1 telegram stream, and
the cloud, which repairs a gap the demo makes on purpose (the local API goes down for a few
seconds a third into the run; afterwards a backfill fills exactly that gap from the simulated
cloud history, as `jullix-logger backfill` would).

Where the data goes: the InfluxDB given with `--influx-url` (database `jullix_demo`), else a
private `influxd` started in a temp dir for the demo alone (when Debian's `influxdb` is
installed; `./scripts/demo` installs it when it may), else the embedded outbox store. It never
reads a config file, so it never writes its simulated house into the InfluxDB a user's
`config.toml` or `/etc/jullix-logger/config.toml` names. Then it prints what was logged, and
where the embedded store (the outbox) lies, with commands that work as printed. It ends with
the energy ledger's `report` of a simulated day (`demo_history`): a run of seconds completes no
quarter-hour, so the simulator's model is replayed over yesterday first. Without InfluxDB it
says what the embedded store cannot show (the gap repair, the ledger, the report).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
import tempfile
import textwrap
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from logger.app.backfill.command import backfill_by_hand
from logger.cli.common import command_prefix
from logger.cli.demo_history import report_of_a_replayed_day
from logger.cli.logs import setup_logging
from logger.config import (
    BackfillSettings,
    CloudSettings,
    InfluxSettings,
    LocalSettings,
    OutboxSettings,
    P1Settings,
    Settings,
)
from logger.core.belgian_time import brussels_day
from logger.core.line_protocol import measurement_of_line
from logger.core.words import plural
from logger.outbox import Outbox, keys
from logger.sink.influxql import InfluxQL, QueryError

DEMO_DATABASE = "jullix_demo"
LOCAL_INTERVAL = 1.0  # seconds; the backfill's gap threshold is three intervals
GAP_SECONDS = 6.0  # the local API is down this long: a gap of 6 s > 3 s threshold
MIN_SECONDS_FOR_GAP = 15.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seconds", type=float, default=30.0,
                        help="how long to log (default 30)")
    parser.add_argument("--speed", type=float, default=1.0,
                        help="simulated seconds per real second (default 1)")
    parser.add_argument("--seed", type=int, default=1, help="simulator seed (default 1)")
    parser.add_argument("--influx-url", default=None,
                        help="an InfluxDB 1.x URL to write into (database jullix_demo); "
                        "default: a private influxd for the demo alone when Debian's influxdb "
                        "is installed, else the embedded store. No config file is read.")


def run(args: argparse.Namespace) -> int:
    setup_logging(args.log_level or "WARNING")
    return asyncio.run(run_demo(args))


def _choose_influx(args: argparse.Namespace, stack: contextlib.ExitStack) -> tuple[
    InfluxSettings, str
]:
    """The InfluxDB to write into and a phrase saying where it came from: only the one the
    command line names, or one of the demo's own."""
    if args.influx_url:
        chosen = InfluxSettings(url=args.influx_url, api="v1", database=DEMO_DATABASE)
        return chosen, f"InfluxDB at {chosen.display_url} (database {DEMO_DATABASE})"
    from logger.testbed.influxd import InfluxServer, influxd_path

    if influxd_path():
        server = InfluxServer()
        stack.callback(server.close)
        server.start()
        chosen = InfluxSettings(url=server.url, api="v1", database=DEMO_DATABASE)
        return chosen, f"a private influxd started for this demo at {server.url}"
    return InfluxSettings(url=""), "the embedded outbox store (no InfluxDB found)"


WITHOUT_INFLUXDB = (
    "No InfluxDB here (Debian's influxdb package is not installed), so the demo keeps every "
    "point in the embedded store and cannot show three things: the cloud repairing a gap "
    "(gaps are found by asking InfluxDB where the local series has holes), the energy ledger "
    "and `report` (both are computed from InfluxDB). `./scripts/demo` installs Debian's "
    "influxdb when it may (as root or with passwordless sudo); or `sudo apt install "
    "influxdb`, then run the demo again.")
SPEED_NOTE = (
    "At --speed {speed:g} the simulated meter's clock runs {speed:g} times faster than this "
    "machine's: expect warnings that the meter clock is off the host clock and that meter "
    "times are refused. That is the logger's guard against a wrong clock doing its work, not "
    "a fault of the demo; at --speed 1 (the default) there are none.")


async def run_demo(args: argparse.Namespace) -> int:
    from logger.app.service import Service
    from logger.testbed.simulator import Simulator, SimulatorConfig
    from logger.testbed.simulator.cloud_api import CloudSimConfig

    out = sys.stdout
    # Kept after the demo: the embedded store is part of what it shows.
    workdir = Path(tempfile.mkdtemp(prefix="jullix-demo-"))
    with contextlib.ExitStack() as stack:
        influx, where = _choose_influx(args, stack)
        args.interruption.remains = (f"its store stays in {workdir}: `rm -r {workdir}` "
                                     "removes it")
        # The cloud history at 1 s resolution from local midnight, so the gap can be repaired.
        cloud = CloudSimConfig(resolution=1, history_days=0)
        simulator = Simulator(SimulatorConfig(
            seed=args.seed, speed=args.speed, devices=frozenset({"solar", "battery", "charger",
                                                                  "plug"}), cloud=cloud))
        await simulator.start()
        try:
            settings = Settings(
                installation="demo",
                local=LocalSettings(url=simulator.local_url, interval=LOCAL_INTERVAL,
                                    timeout=0.8),
                p1=P1Settings(enabled=True, host="127.0.0.1", port=simulator.p1_port),
                cloud=CloudSettings(enabled=True, url=simulator.cloud_url, token=cloud.token),
                backfill=BackfillSettings(enabled=False),  # run below, once, by hand
                influx=influx,
                outbox=OutboxSettings(path=workdir / "outbox.sqlite"),
            )
            out.write(f"simulated Jullix box: local API {simulator.local_url}/api/ems/, P1 "
                      f"telegrams on tcp://127.0.0.1:{simulator.p1_port}, cloud API "
                      f"{simulator.cloud_url}\n")
            out.write(f"logging for {args.seconds:g} s into {where} ...\n")
            if args.speed != 1.0:
                out.write(textwrap.fill(SPEED_NOTE.format(speed=args.speed), width=96) + "\n")
            if not influx.configured:
                out.write(textwrap.fill(WITHOUT_INFLUXDB, width=96) + "\n")
            gap = _plan_gap(args, influx.configured)
            if isinstance(gap, str):
                out.write(f"(no deliberate gap: {gap})\n")
            else:
                out.write(f"the local API will be down from {gap:g} s to {gap + GAP_SECONDS:g} s: "
                          "a gap for the cloud to repair\n")
            out.flush()
            service = Service(settings)
            saboteur = None
            if not isinstance(gap, str):
                saboteur = asyncio.create_task(_take_local_down(simulator, gap))
            await service.run(duration=args.seconds)
            if saboteur is not None:
                saboteur.cancel()
            if service.stop_signal == signal.SIGINT:  # Ctrl-C ends the demo, not only its run
                raise KeyboardInterrupt
            served = len(simulator.served_meter_times)
            if influx.configured and not isinstance(gap, str):
                await _backfill(settings, out)
        finally:
            await simulator.stop()
        features = simulator.config.features()
        if influx.configured:
            rows = await _summary_from_influx(influx)
            flows = await _power_flow_sources(influx)
        else:
            rows = _summary_from_outbox(settings.outbox.path)
            flows = {}
        _print_summary(rows, out)
        if flows:
            out.write("power_flow by source: " + ", ".join(
                f"{source} {count}" for source, count in sorted(flows.items())) + "\n")
        meter_points = next((r["count"] for r in rows if r["measurement"] == "meter"), 0)
        out.write(f"\nsimulator served {served} distinct meter readings; "
                  f"{meter_points} meter points logged\n")
        _print_store(args, settings, workdir, influx.configured, out)
        if influx.configured:
            await report_of_a_replayed_day(settings, features, args.seed, args.seconds, out)
        else:
            out.write("\n(no ledger and no `report`: both are computed from InfluxDB; see "
                      "above for how to get it)\n")
        if where.startswith("a private influxd"):
            out.write(textwrap.fill(
                "(the private influxd and what it holds go away with the demo: give "
                "--influx-url to keep the data in a lasting InfluxDB)", width=96) + "\n")
    return 0 if meter_points else 1


def _plan_gap(args: argparse.Namespace, influx: bool) -> float | str:
    """When the local API goes down (seconds into the run), or why there is no gap."""
    if not influx:
        return "without InfluxDB nothing could find it, so the cloud could not repair it"
    if args.speed != 1.0:
        return ("--speed is not 1: the local points carry the real receive time and the "
                "simulated cloud its own clock, so a gap could not be matched")
    if args.seconds < MIN_SECONDS_FOR_GAP:
        return f"--seconds {MIN_SECONDS_FOR_GAP:g} or more makes room for one"
    return round(args.seconds / 3, 1)


async def _take_local_down(simulator: Any, after: float) -> None:
    await asyncio.sleep(after)
    simulator.faults.set_down(GAP_SECONDS)


async def _backfill(settings: Settings, out: TextIO) -> None:
    """The gap repaired from the cloud, as `jullix-logger backfill` does it."""
    out.write("\ncloud backfill of the gap (what `jullix-logger backfill` does):\n")
    result = await backfill_by_hand(settings, since=None, until=None, dry_run=False)
    for line in result.report.summary_lines() if result.report else []:
        out.write(f"  {line}\n")
    if result.error:
        out.write(f"  {result.error}\n")
    out.flush()


async def _power_flow_sources(settings: InfluxSettings) -> dict[str, int]:
    reader = InfluxQL(settings)
    try:
        series = await reader.query('SELECT count("grid_w") FROM "power_flow" GROUP BY "source"')
    except QueryError:
        return {}
    finally:
        await reader.close()
    return {s.get("tags", {}).get("source", "?"): int(s["values"][0][1]) for s in series
            if s.get("values")}


def _print_store(args: argparse.Namespace, settings: Settings, workdir: Path, influx: bool,
                 out: TextIO) -> None:
    """Where the embedded store lies, what it holds, and commands that work as printed (with a
    config file that names the store, and the InfluxDB when `--influx-url` gave one)."""
    config = workdir / "config.toml"
    text = (f'installation = "demo"\n[local]\nenabled = false\n[outbox]\n'
            f'path = "{settings.outbox.path}"\n')
    if args.influx_url:
        text += (f'[influx]\nurl = "{settings.influx.url}"\napi = "v1"\n'
                 f'database = "{DEMO_DATABASE}"\n')
    config.write_text(text, encoding="utf-8")
    outbox = Outbox(settings.outbox.path, read_only=True)
    try:
        stats = outbox.stats()
    finally:
        outbox.close()
    telegrams = stats.counters.get(keys.P1_TELEGRAMS, 0)
    program = command_prefix()
    out.write(f"P1: {telegrams} valid telegrams read\n")
    out.write(f"\nthe embedded store (the outbox) is {settings.outbox.path}: "
              f"{plural(stats.depth, 'point')} in it"
              f"{' (InfluxDB took the rest)' if influx else ''}\n")
    out.write(f"  export it:   {program} export -c {config} > demo.lp\n")
    out.write(f"  its status:  {program} status -c {config}\n")
    if args.influx_url:
        out.write(f"  its report:  {program} report -c {config} --day "
                  f"{brussels_day(int(time.time())) - timedelta(days=1)}\n")
    out.write(f"  remove it:   rm -r {workdir}\n")


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
        header = f"{row['measurement']}: {plural(row['count'], 'point')}"
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
