"""A faithful, deterministic fake Jullix box.

It powers the demo, the tests and the benchmarks: one `HouseModel` (the physics) driven by one
`SimClock` (simulated time), served through interfaces that read the same state, so that every
interface tells the same story: the local HTTP API (`/api/ems/*`), the P1 telegram stream (TCP),
the cloud API (`/api/v1/*`) and the `/_sim/*` control and ground-truth endpoints (`box`); the
`simulate` command's flags are `args`.

Everything binds to 127.0.0.1 unless told otherwise: the simulator has no authentication and its
control endpoints can change its behaviour.
"""

from .args import add_simulate_arguments, config_from_args, serve_forever
from .box import DEVICE_TYPES, Simulator, SimulatorConfig
from .clock import SimClock
from .faults import Decision, Faults, FaultSettings
from .local_api import ABSENT_STYLES, ServedReading
from .model import BRUSSELS, HouseModel, InstallationFeatures, Snapshot

__all__ = [
    "ABSENT_STYLES",
    "BRUSSELS",
    "DEVICE_TYPES",
    "Decision",
    "FaultSettings",
    "Faults",
    "HouseModel",
    "InstallationFeatures",
    "ServedReading",
    "SimClock",
    "Simulator",
    "SimulatorConfig",
    "Snapshot",
    "add_simulate_arguments",
    "config_from_args",
    "serve_forever",
]
