"""A simulated installation's history for the ledger tests: P1 telegrams (printed by the
simulator, decoded by the product's P1 decoder), inverter and battery polls (the simulator's local
API payloads, parsed by the product's local parser), and the ground truth: the model's
integer-joule counters at every quarter-hour boundary, floored to each register's resolution.
The readings are the demo's replay (`logger.cli.demo_history.replay`): one implementation."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from logger.cli.demo_history import replay
from logger.sources.power_flow import power_flow_point
from logger.testbed.simulator.model import HouseModel, InstallationFeatures

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
    # (t, grid_w, battery_w, solar_w, car_w) of every step, when asked (`power_flow`)
    flows: list[tuple[int, int, int, int, int]] = field(default_factory=list)


def simulate(start: datetime, end: datetime, step: int = 60, seed: int = 3,
             features: InstallationFeatures | None = None, local_meter: bool = False,
             installation: str = INSTALLATION, power_flow: bool = False) -> History:
    """Every `step` seconds a telegram and an inverter/battery poll; truth every 900 s.

    `local_meter`: the local API's `meter` instead of the telegram (float32 registers, as the
    box serves them, through the product's parser). `power_flow`: a `power_flow` point
    (source=local) at every step too, from the model's powers, kept in `flows` as well."""
    features = features or InstallationFeatures(charger=True)
    history = History(inverter_id=HouseModel(seed, features, start).inverter_id)
    for snap, printer, points in replay(start, end, step, seed, features, installation,
                                        local_meter):
        history.lines += [p.to_line() for p in points]
        if power_flow:
            history.flows.append((snap.t, snap.grid_w, snap.battery_w, snap.pv_w, snap.car_w))
            flow = power_flow_point(installation, snap.t, "local", snap.grid_w, snap.pv_w,
                                    snap.battery_w, snap.car_w)
            if flow is not None:
                history.lines.append(flow.to_line())
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
