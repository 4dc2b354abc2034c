"""A simulated installation's history for the ledger tests: P1 telegrams (printed by the
simulator, decoded by the product's P1 decoder), inverter and battery polls (the simulator's local
API payloads, parsed by the product's local parser), and the ground truth: the model's
integer-joule counters at every quarter-hour boundary, floored to each register's resolution."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from logger.core.point import Point
from logger.sources.local.parse import device_points, meter_fields
from logger.sources.p1.decoder import P1Decoder
from logger.testbed.simulator.local_api import (
    as_float32,
    battery_payload,
    meter_payload,
    solar_payload,
)
from logger.testbed.simulator.model import HouseModel, InstallationFeatures
from logger.testbed.simulator.telegram import TelegramPrinter

INSTALLATION = "test"


@dataclass
class Registers:
    """What each register shows at one second, in whole units of its resolution."""

    import_wh: tuple[int, int]
    export_wh: tuple[int, int]
    solar_wh: tuple[int, ...]  # the inverter prints 0.1 kWh: multiples of 100 Wh
    charged_wh: int
    discharged_wh: int
    gas_l: int  # the M-Bus capture at this second (captured every 5 minutes)
    peak_w: int  # the meter's 1.6.0 at this second
    peak_t: int


@dataclass
class History:
    lines: list[str] = field(default_factory=list)
    truth: dict[int, Registers] = field(default_factory=dict)  # at each quarter boundary
    inverter_id: str = ""


def simulate(start: datetime, end: datetime, step: int = 60, seed: int = 3,
             features: InstallationFeatures | None = None, local_meter: bool = False,
             installation: str = INSTALLATION) -> History:
    """Every `step` seconds a telegram and an inverter/battery poll; truth every 900 s.

    `local_meter`: the local API's `meter` instead of the telegram (float32 registers, as the
    box serves them, through the product's parser)."""
    features = features or InstallationFeatures(charger=True)
    model = HouseModel(seed, features, start)
    printer = TelegramPrinter(features, seed)
    decoder = P1Decoder(installation, every=step)
    printer.observe(model.snapshot())
    history = History(inverter_id=model.inverter_id)
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
        history.lines += [p.to_line() for p in points]
        if snap.t % 900 == 0:
            gas = printer.gas
            history.truth[snap.t] = Registers(
                import_wh=(snap.import_j[0] // 3600, snap.import_j[1] // 3600),
                export_wh=(snap.export_j[0] // 3600, snap.export_j[1] // 3600),
                solar_wh=tuple(j // 360_000 * 100 for j in snap.pv_energy_j),
                charged_wh=snap.battery_charged_j // 360_000 * 100,
                discharged_wh=snap.battery_discharged_j // 360_000 * 100,
                gas_l=gas.millilitres // 1000 if gas is not None and gas.t == snap.t else -1,
                peak_w=printer.month_peak(snap)[1],
                peak_t=printer.month_peak(snap)[0],
            )
    return history
