"""The simulated past the demo adds so its `report` has complete periods to show.

A demo of seconds completes no quarter-hour (the ledger writes a period once a reading exists at
or after its end), so the demo replays the simulator's house model over a past day: every `step`
seconds the simulated meter prints a P1 telegram, decoded by the logger's own P1 decoder, and the
inverter and battery answer a poll, parsed by the logger's own local parser. The points go
through the outbox into InfluxDB like logged data, and the ledger is built from them by the
`ledger` command's own function. The ledger tests replay history the same way
(`tests/ledger_data.py`), so their ground truth and this generator cannot drift apart.
"""

from __future__ import annotations

import argparse
import textwrap
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import TextIO

from logger.app.delivery import Delivery, deliver_all
from logger.config import Settings
from logger.core.belgian_time import brussels_day, day_bounds, parse_bound
from logger.core.point import Point
from logger.core.words import plural
from logger.outbox import Outbox
from logger.sink.gate import SinkGate
from logger.sink.targets import ledger_influx, make_routed_writer
from logger.sources.local.parse import device_points, meter_fields
from logger.sources.p1.decoder import P1Decoder
from logger.testbed.simulator.local_api import (
    as_float32,
    battery_payload,
    meter_payload,
    solar_payload,
)
from logger.testbed.simulator.model import HouseModel, InstallationFeatures, Snapshot
from logger.testbed.simulator.telegram import TelegramPrinter

DELIVERY_TIMEOUT = 300.0
REPLAY_STEP = 60  # seconds between replayed readings (within the ledger's default gap)
PAD_S = 300  # replayed before and after the day, so both its boundaries have readings


def replay(start: datetime, end: datetime, step: int, seed: int, features: InstallationFeatures,
           installation: str, local_meter: bool = False
           ) -> Iterator[tuple[Snapshot, TelegramPrinter, list[Point]]]:
    """Each `step`-th second of [start, end): the model's state, the meter's printer (its M-Bus
    captures and month peak) and the points the logger makes of that second's readings.

    `local_meter`: the box's local `meter` (float32 registers) instead of the telegram."""
    model = HouseModel(seed, features, start)
    printer = TelegramPrinter(features, seed)
    decoder = P1Decoder(installation, every=step)
    printer.observe(model.snapshot())
    stop = int(end.timestamp())
    while model.t < stop:
        snap = model.advance_by(1)
        printer.observe(snap)
        if snap.t % step:
            continue
        received = snap.utc
        if local_meter:
            fields = meter_fields(as_float32(meter_payload(snap, features)))
            tags = {"installation": installation, "meter_id": features.meter_id}
            points = [p for p in [Point.make("meter", tags, fields, received)] if p]
        else:
            points = decoder.feed(printer.render(snap))
        points += device_points("solar", solar_payload(snap, features, model.inverter_id),
                                installation, received)
        points += device_points("battery", battery_payload(snap, features, model.inverter_id),
                                installation, received)
        yield snap, printer, points


async def load(settings: Settings, points: list[Point]) -> int:
    """Put `points` through the outbox into InfluxDB, as the service would; returns how many
    InfluxDB confirmed."""
    outbox = Outbox(settings.outbox.path, settings.outbox.max_mb, settings.outbox.overflow)
    try:
        outbox.put(points)
        outbox.commit()
        delivery = Delivery(outbox, make_routed_writer(settings), settings.influx.batch_size)
        try:
            gate = SinkGate(settings.influx, ledger_influx(settings))
            drained = await deliver_all(outbox, gate, delivery, DELIVERY_TIMEOUT)
        finally:
            await delivery.writer.close()
        return drained.written
    finally:
        outbox.close()


async def report_of_a_replayed_day(settings: Settings, features: InstallationFeatures, seed: int,
                                   seconds: float, out: TextIO) -> None:
    """Replay yesterday (Belgian day), build its ledger with the `ledger` command's function and
    print `jullix-logger report --day <yesterday>` through the report command's own code."""
    from rich.console import Console

    from logger.app.ledger_job import build_history
    from logger.cli import ledger, report
    from logger.cli.report_data import fetch

    day = brussels_day(int(time.time())) - timedelta(days=1)
    start, end = day_bounds(day)
    out.write("\n" + textwrap.fill(
        f"the energy ledger and `report`: a {seconds:g}-second run completes no quarter-hour "
        "(the ledger writes a period once a reading exists at or after its end), so the demo "
        f"replays the simulator's house model (seed {seed}) over yesterday, {day}: a P1 telegram "
        "and an inverter/battery poll every minute, decoded by the logger's own parsers and "
        "written through the outbox like logged data. That replay starts the model afresh, so "
        "its meter registers do not run on into the live run's; the ledger below is built for "
        "the replayed day only.", width=96) + "\n")
    out.flush()
    points = [p for _, _, step_points in replay(
        datetime.fromtimestamp(start - PAD_S, UTC), datetime.fromtimestamp(end + PAD_S, UTC),
        REPLAY_STEP, seed, features, settings.installation) for p in step_points]
    written = await load(settings, points)
    out.write(f"  replayed {day}: {plural(len(points), 'point')}, {written} written to InfluxDB\n")
    out.write(f"\nwhat `jullix-logger ledger --since {day} --until {day}` prints:\n")
    since, until = parse_bound(day.isoformat()), parse_bound(day.isoformat(), end=True)
    result = await build_history(settings, since, until, dry_run=False)
    for line in ledger.summary(result, dry_run=False):
        out.write(line + "\n")
    out.write(f"\nwhat `jullix-logger report --day {day}` prints:\n")
    out.flush()
    view = report.window(argparse.Namespace(day=day.isoformat(), month=None, year=None))
    ledger_rows = await fetch(settings, view.start, view.end, view.period, view.total,
                              view.ends())
    report.render(Console(file=out, width=80), view, ledger_rows)
    out.write("\n" + textwrap.fill(
              "Today's live minutes are in the raw measurements above; their quarter-hours "
              "are still running, so the ledger has none of them yet: the service writes each "
              "once a reading exists at or after its end (`jullix-logger report --day "
              "<today>` then shows them).", width=96) + "\n")
