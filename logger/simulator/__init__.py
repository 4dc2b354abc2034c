"""A faithful, deterministic fake Jullix box.

It powers the demo, the tests and the benchmarks: one `HouseModel` (the physics) driven by one
`SimClock` (simulated time), served through interfaces that read the same state, so that every
interface tells the same story. Today: the local HTTP API (`/api/ems/*`) plus `/_sim/*` control
endpoints; the P1 telegram stream and the cloud API are meant to be added as further servers on
the same model.

Everything binds to 127.0.0.1 unless told otherwise: the simulator has no authentication and its
control endpoints can change its behaviour.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .clock import SimClock
from .cloud_api import PREFIX as CLOUD_PREFIX
from .cloud_api import CloudApi, CloudSimConfig, add_cloud_arguments, cloud_config_from_args
from .control import PREFIX as CONTROL_PREFIX
from .control import ControlApi
from .faults import ENDPOINTS, Decision, Faults, FaultSettings
from .httpserver import HttpServer, Request, Response
from .local_api import ABSENT_STYLES, AbsentStyle, LocalApi, ServedReading
from .model import BRUSSELS, HouseModel, InstallationFeatures, Snapshot
from .p1_stream import P1FaultSettings, P1Stream

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

DEVICE_TYPES = ("solar", "battery", "charger", "plug")


@dataclass
class SimulatorConfig:
    """Everything that defines a simulated installation and how it is served."""

    seed: int = 1
    start: datetime | None = None  # aware; None = real now
    speed: float = 1.0  # simulated seconds per real second (0 = frozen)
    host: str = "127.0.0.1"
    local_port: int = 0  # 0 = a free port
    devices: frozenset[str] = frozenset({"solar", "battery"})  # the meter always exists
    absent_style: AbsentStyle = "404"
    inverters: int = 1  # 2 = same inverter id with localid A01 and T01
    water: bool = True
    unreported_phase: str | None = None  # "l1" | "l2" | "l3" reported as 0 V
    meter_id: str = "1SAG3101021605"
    faults: FaultSettings = field(default_factory=FaultSettings)
    cloud: CloudSimConfig = field(default_factory=CloudSimConfig)  # served under /api/v1/
    p1_port: int = 0  # P1 telegram stream (TCP); 0 = a free port
    p1_faults: P1FaultSettings = field(default_factory=P1FaultSettings)

    def __post_init__(self) -> None:
        self.devices = frozenset(self.devices)
        unknown = self.devices - set(DEVICE_TYPES)
        if unknown:
            raise ValueError(f"unknown device types {sorted(unknown)}; known: {DEVICE_TYPES}")
        if self.absent_style not in ABSENT_STYLES:
            raise ValueError(f"absent_style must be one of {ABSENT_STYLES}")
        if self.start is not None and self.start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        if self.speed < 0:
            raise ValueError("speed must be >= 0")

    def features(self) -> InstallationFeatures:
        return InstallationFeatures(
            solar="solar" in self.devices,
            battery="battery" in self.devices,
            charger="charger" in self.devices,
            plug="plug" in self.devices,
            inverters=self.inverters,
            water=self.water,
            unreported_phase=self.unreported_phase,
            meter_id=self.meter_id,
        )


class Simulator:
    """The fake box: clock + model + faults, served over HTTP once `start()`ed.

    Usable as `async with Simulator(config) as sim: ...`.
    """

    def __init__(self, config: SimulatorConfig | None = None) -> None:
        self.config = config or SimulatorConfig()
        self.clock = SimClock(self.config.start, self.config.speed)
        self.model = HouseModel(
            self.config.seed, self.config.features(), self.config.start or self.clock.now()
        )
        self.faults = Faults(self.config.seed, self.config.faults)
        self.local_api = LocalApi(self.model, self.snapshot, self.faults, self.config.absent_style)
        self.control_api = ControlApi(self)
        self.cloud_api = CloudApi(self, self.config.cloud)
        self.p1_stream = P1Stream(self.model, self.clock, self.config.seed, self.config.p1_faults)
        self._local_server: HttpServer | None = None
        self._ticker: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------ state

    def snapshot(self) -> Snapshot:
        """Advance the model to the simulated now and return its state.

        The model never runs backwards: if the clock was set back, this returns the latest state.
        """
        return self.model.advance_to(self.clock.now())

    def state(self) -> dict[str, Any]:
        """Model state plus identities, as served by GET /_sim/state."""
        snap = self.snapshot()
        out = snap.to_dict()
        out["ids"] = {
            "meter": self.model.features.meter_id,
            "inverter": self.model.inverter_id,
            "charger": self.local_api.charger_id,
            "plug": self.local_api.plug_id,
        }
        out["devices"] = sorted(self.config.devices)
        out["clock_utc"] = self.clock.now().isoformat()
        return out

    @property
    def served_meter_readings(self) -> list[ServedReading]:
        """Every distinct meter reading served so far (valid 200 answers), in order."""
        return self.local_api.served

    @property
    def served_meter_times(self) -> list[datetime]:
        """The UTC instants of `served_meter_readings` (strictly increasing)."""
        return [r.utc for r in self.local_api.served]

    # --------------------------------------------------------------- serving

    @property
    def local_url(self) -> str:
        """Base URL of the local API, e.g. http://127.0.0.1:PORT (after `start()`)."""
        if self._local_server is None:
            raise RuntimeError("simulator not started")
        host = self.config.host
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self._local_server.port}"

    @property
    def p1_port(self) -> int:
        """TCP port of the P1 telegram stream (after `start()`)."""
        return self.p1_stream.port

    @property
    def p1_address(self) -> tuple[str, int]:
        """(host, port) of the P1 telegram stream (after `start()`)."""
        return self.p1_stream.host, self.p1_stream.port

    @property
    def cloud_url(self) -> str:
        """Base URL of the simulated platform API (same port as the local API, /api/v1)."""
        return self.local_url + CLOUD_PREFIX.rstrip("/")

    async def _handle_local(self, request: Request) -> Response | None:
        if request.path.startswith(CONTROL_PREFIX):
            return await self.control_api.handle(request)
        if request.path.startswith(CLOUD_PREFIX):
            return await self.cloud_api.handle(request)
        return await self.local_api.handle(request)

    async def start(self) -> None:
        """Bind the local API and start keeping the model up to date in the background."""
        if self._local_server is not None:
            return
        server = HttpServer(self._handle_local, self.config.host, self.config.local_port)
        await server.start()
        self._local_server = server
        await self.p1_stream.start(self.config.host, self.config.p1_port)
        self._ticker = asyncio.create_task(self._tick(), name="simulator-ticker")

    async def stop(self) -> None:
        """Close the listening socket and every connection."""
        ticker, self._ticker = self._ticker, None
        if ticker is not None:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker
        server, self._local_server = self._local_server, None
        await self.p1_stream.stop()
        if server is not None:
            await server.stop()

    async def _tick(self) -> None:
        """Integrate in the background, in slices, so a request rarely waits for the physics."""
        while True:
            target = int(self.clock.timestamp())
            while self.model.t < target:
                self.model.advance_to(min(target, self.model.t + 2000))
                await asyncio.sleep(0)
            await asyncio.sleep(0.2)

    async def __aenter__(self) -> Simulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


# ------------------------------------------------------------------------- CLI


def _parse_start(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an ISO datetime: {text!r}") from exc
    if value.tzinfo is None:
        value = value.replace(tzinfo=BRUSSELS)  # naive = Belgian local (fold=0 if ambiguous)
    return value.astimezone(UTC)


def _parse_devices(text: str) -> frozenset[str]:
    items = {d.strip() for d in text.split(",") if d.strip()} - {"meter", "none"}
    unknown = items - set(DEVICE_TYPES)
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown device type(s) {', '.join(sorted(unknown))}; choose from {DEVICE_TYPES}"
        )
    return frozenset(items)


def _non_negative(text: str) -> float:
    try:
        value = float(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from exc
    if value < 0 or value != value:
        raise argparse.ArgumentTypeError(f"must be >= 0: {text!r}")
    return value


def _probability(text: str) -> float:
    value = _non_negative(text)
    if value > 1:
        raise argparse.ArgumentTypeError(f"must be within [0, 1]: {text!r}")
    return value


def _endpoint_delay(text: str) -> tuple[str, float]:
    name, sep, seconds = text.partition("=")
    if not sep or name not in ENDPOINTS:
        raise argparse.ArgumentTypeError(f"expected NAME=SECONDS with NAME in {ENDPOINTS}")
    return name, _non_negative(seconds)


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a port: {text!r}") from exc
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port out of range: {value}")
    return value


def add_simulate_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the `simulate` subcommand's flags to `parser`."""
    g = parser.add_argument_group("simulated installation")
    g.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    g.add_argument(
        "--start",
        type=_parse_start,
        default=None,
        help="simulated start time, ISO 8601; naive = Europe/Brussels local (default: now)",
    )
    g.add_argument(
        "--speed",
        type=_non_negative,
        default=1.0,
        help="simulated seconds per real second (default 1; 0 freezes the clock)",
    )
    g.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    g.add_argument(
        "--local-port", type=_port, default=0, help="local API port (default 0 = a free port)"
    )
    g.add_argument(
        "--devices",
        type=_parse_devices,
        default=frozenset({"solar", "battery"}),
        help="comma list of solar,battery,charger,plug (the meter always exists; "
        "default solar,battery)",
    )
    g.add_argument(
        "--absent-style",
        choices=ABSENT_STYLES,
        default="404",
        help="answer for device types the installation lacks (default 404)",
    )
    g.add_argument(
        "--inverters",
        type=int,
        choices=(1, 2),
        default=1,
        help="2 = a second PV inverter with the same id and localid T01",
    )
    g.add_argument("--no-water", action="store_true", help="no water meter (water reads 0)")
    g.add_argument(
        "--unreported-phase",
        choices=("l1", "l2", "l3"),
        default=None,
        help="a phase whose voltage the meter reports as 0",
    )
    g.add_argument("--meter-id", default="1SAG3101021605", help="meter equipment id")
    g.add_argument(
        "--p1-port", type=_port, default=0, help="P1 telegram stream port (default 0 = a free port)"
    )
    add_cloud_arguments(parser)
    f = parser.add_argument_group("faults")
    f.add_argument("--delay", type=_non_negative, default=0.0, help="seconds added to answers")
    f.add_argument(
        "--delay-endpoint",
        type=_endpoint_delay,
        action="append",
        default=[],
        metavar="NAME=SECONDS",
        help="delay of one endpoint (repeatable), e.g. meter=2.5",
    )
    f.add_argument("--error-rate", type=_probability, default=0.0, help="probability of a 5xx")
    f.add_argument(
        "--invalid-json-rate",
        type=_probability,
        default=0.0,
        help="probability of a truncated JSON body",
    )
    f.add_argument("--wrap-data", action="store_true", help='wrap payloads in {"data": ...}')
    f.add_argument(
        "--numbers-as-strings", action="store_true", help="print every number as a JSON string"
    )
    for name, text in (
        ("corrupt-rate", "probability of a P1 telegram with a wrong CRC"),
        ("bad-crc-field-rate", "probability of a P1 telegram whose CRC field is not hex"),
        ("non-ascii-rate", "probability of a non-ASCII byte inside a P1 telegram"),
        ("garbage-rate", "probability of random bytes before a P1 telegram"),
        ("disconnect-rate", "probability of an abrupt disconnect in the middle of a telegram"),
    ):
        f.add_argument(f"--p1-{name}", type=_probability, default=0.0, help=text)
    f.add_argument("--p1-split", action="store_true",
                   help="send P1 telegrams in pieces cut at random byte boundaries")
    f.add_argument("--p1-max-rate", type=_non_negative, default=100.0,
                   help="at most this many P1 telegrams per real second (default 100)")


def config_from_args(args: argparse.Namespace) -> SimulatorConfig:
    """Build a SimulatorConfig from flags added by `add_simulate_arguments`."""
    faults = FaultSettings(
        delay=args.delay,
        delay_endpoints=dict(args.delay_endpoint),
        error_rate=args.error_rate,
        invalid_json_rate=args.invalid_json_rate,
        wrap_data=args.wrap_data,
        numbers_as_strings=args.numbers_as_strings,
    )
    return SimulatorConfig(
        seed=args.seed,
        start=args.start,
        speed=args.speed,
        host=args.host,
        local_port=args.local_port,
        devices=args.devices,
        absent_style=args.absent_style,
        inverters=args.inverters,
        water=not args.no_water,
        unreported_phase=args.unreported_phase,
        meter_id=args.meter_id,
        faults=faults,
        cloud=cloud_config_from_args(args),
        p1_port=args.p1_port,
        p1_faults=P1FaultSettings(
            corrupt_rate=args.p1_corrupt_rate,
            bad_crc_field_rate=args.p1_bad_crc_field_rate,
            non_ascii_rate=args.p1_non_ascii_rate,
            garbage_rate=args.p1_garbage_rate,
            disconnect_rate=args.p1_disconnect_rate,
            split=args.p1_split,
            max_rate=args.p1_max_rate or 100.0,
        ),
    )


async def serve_forever(config: SimulatorConfig) -> None:
    """Run the simulator, print its URL on one line, and serve until cancelled or SIGINT/SIGTERM."""
    sim = Simulator(config)
    await sim.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
            installed.append(sig)
        except (NotImplementedError, RuntimeError, ValueError):
            pass  # not the main thread, or not supported on this platform
    try:
        devices = ",".join(sorted(config.devices)) or "meter only"
        print(
            f"jullix simulator: local API {sim.local_url}/api/ems/ "
            f"(control {sim.local_url}/_sim/; seed {config.seed}, speed {config.speed:g}, "
            f"start {sim.clock.now().astimezone(BRUSSELS).isoformat(timespec='seconds')}, "
            f"devices {devices}); P1 stream tcp://{sim.p1_address[0]}:{sim.p1_port}",
            flush=True,
        )
        await stop.wait()
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
        await sim.stop()
