"""The `simulate` command's flags, and serving the simulator until a signal."""

from __future__ import annotations

import argparse
import asyncio
import signal
from datetime import UTC, datetime

from .box import DEVICE_TYPES, Simulator, SimulatorConfig
from .cloud_api import add_cloud_arguments, cloud_config_from_args
from .faults import ENDPOINTS, FaultSettings
from .local_api import ABSENT_STYLES
from .model import BRUSSELS
from .p1_stream import P1FaultSettings


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
    g.add_argument("--entsoe-token", default="sim-entsoe-token",
                   help="security token of the fake ENTSO-E Transparency Platform at "
                   "/entsoe/api (default sim-entsoe-token)")
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
        entsoe_token=args.entsoe_token,
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
            f"devices {devices}); P1 stream tcp://{sim.p1_address[0]}:{sim.p1_port}; "
            f"day-ahead prices {sim.entsoe_url}",
            flush=True,
        )
        await stop.wait()
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
        await sim.stop()
