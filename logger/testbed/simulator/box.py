"""The simulated box: one `HouseModel` driven by one `SimClock`, served by the local API, the
P1 stream, the cloud API and the `/_sim/` control endpoints, which all read the same state; and,
on the same port, a fake ENTSO-E Transparency Platform (`/entsoe/api`, day-ahead prices)."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .clock import SimClock
from .cloud_api import PREFIX as CLOUD_PREFIX
from .cloud_api import CloudApi, CloudSimConfig
from .control import PREFIX as CONTROL_PREFIX
from .control import ControlApi
from .entsoe_api import PREFIX as ENTSOE_PREFIX
from .entsoe_api import EntsoeApi
from .faults import Faults, FaultSettings
from .httpserver import HttpServer, Request, Response
from .local_api import ABSENT_STYLES, AbsentStyle, LocalApi, ServedReading
from .model import HouseModel, InstallationFeatures, Snapshot
from .p1_stream import P1FaultSettings, P1Stream

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
    entsoe_token: str = "sim-entsoe-token"  # the fake Transparency Platform's security token

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
        self.entsoe_api = EntsoeApi(self.clock, self.config.seed, self.config.entsoe_token)
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

    @property
    def entsoe_url(self) -> str:
        """The fake Transparency Platform's API URL (same port as the local API)."""
        return self.local_url + ENTSOE_PREFIX

    async def _handle_local(self, request: Request) -> Response | None:
        if request.path.startswith(CONTROL_PREFIX):
            return await self.control_api.handle(request)
        if request.path == ENTSOE_PREFIX:
            return await self.entsoe_api.handle(request)
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
