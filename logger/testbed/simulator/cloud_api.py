"""The Jullix platform API (cloud), simulated, under `/api/v1/` of the simulator's HTTP port.

Served from the same physics as the local API:

* `installation/all`, `installation/{id}`
* `actual/{id}/summary/power` and `actual/{id}/detail/{battery,solar,grid,home,charger,plug}`:
  the live model's state now (kW, sign conventions of the local API).
* `history/recent/{id}/{grid,solar,battery,home,charger,plug}/power/{Y}/{M}/{D}`: one sample
  every `resolution` seconds of that Belgian day, up to the simulated now, in the shape
  `logger/sources/cloud.py` documents as its assumption (the real shape is unknown).
  Past days are computed by a *second* `HouseModel` with the same seed and installation that
  starts at local midnight `history_days` days before the simulator's start day and integrates
  forward. PV, house, plug and car powers are pure functions of time, so they equal the live
  model's exactly; battery (and therefore grid) depend on the state of charge, which the two
  models reach along different histories, so they can differ until both batteries hit the same
  limit. Days before that origin answer an empty list (the cloud's retention), days in the
  future too. Deterministic for a given seed, installation and start.
* Anything else under `/api/v1/` (energy histories, statistics, cost): 404, not simulated.

Every request must carry `Authorization: Bearer <token>`; otherwise 401. Misbehaviour on demand
through `POST /_sim/cloud` (see `CloudFaults.update`): a status for the next N requests (401,
429 with `Retry-After`, 5xx), a delay, malformed (truncated) bodies, another history shape,
revoking the token, and history paths that answer 404 although the device exists
(`missing`: the inferred grid/solar/charger paths may not exist on the real platform).
"""

from __future__ import annotations

import argparse
import asyncio
import hmac
import json
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, NamedTuple, Protocol

from .clock import SimClock
from .fault_changes import apply_changes, http_error_status
from .httpserver import Request, Response
from .model import BRUSSELS, HouseModel, Snapshot


class Box(Protocol):
    """What the cloud API reads of the simulated box: its model, clock and current state."""

    model: HouseModel
    clock: SimClock

    def snapshot(self) -> Snapshot: ...

PREFIX = "/api/v1/"
SHAPES = ("canonical", "values-object", "epoch", "epoch-ms", "naive-local", "watts", "unknown")
_HISTORY = re.compile(r"^history/recent/([^/]+)/([a-z]+)/([a-z]+)/(\d{4})/(\d{1,2})/(\d{1,2})$")


@dataclass
class CloudSimConfig:
    token: str = "sim-cloud-token"
    installation_id: str = "a1b2c3d4-e5f6-7890-abcd-ef1234567890"
    name: str = "Simulated house"
    resolution: int = 300  # seconds between history samples
    history_days: int = 1  # history reaches back to local midnight this many days before start


@dataclass
class CloudFaults:
    """Cloud misbehaviour, switched over POST /_sim/cloud."""

    status: int | None = None  # answer this status ...
    count: int | None = None  # ... to this many requests (None = until cleared)
    retry_after: str | None = None  # Retry-After header sent with it
    delay: float = 0.0  # seconds before every answer
    malformed: bool = False  # truncated JSON bodies
    shape: str = "canonical"  # history shape, see SHAPES
    revoked: bool = False  # the token was revoked: 401 for everything
    missing: list[str] = field(default_factory=list)  # history devices that answer 404 anyway

    def update(self, changes: dict[str, Any]) -> None:
        apply_changes(self, changes, "cloud", {
            "shape": _shape,
            "status": http_error_status,
            "retry_after": lambda value: None if value is None else str(value),
            "missing": lambda devices: [str(d) for d in devices],
        })


def _shape(value: Any) -> Any:
    if value not in SHAPES:
        raise ValueError(f"shape must be one of {SHAPES}")
    return value


class Sample(NamedTuple):
    """The powers (W) of one history sample: what the history needs of a Snapshot."""

    t: int
    grid_w: int
    pv_w: int
    battery_w: int
    house_w: int
    car_w: int
    plug_w: int

    @property
    def utc(self) -> datetime:
        return datetime.fromtimestamp(self.t, UTC)

    @property
    def local(self) -> datetime:
        return datetime.fromtimestamp(self.t, BRUSSELS)

    @classmethod
    def of(cls, s: Snapshot) -> Sample:
        return cls(s.t, s.grid_w, s.pv_w, s.battery_w, s.house_w, s.car_w, s.plug_w)


class CloudHistory:
    """Deterministic past samples from a second model started at a fixed, earlier origin."""

    def __init__(self, sim: Box, config: CloudSimConfig) -> None:
        self.sim = sim
        self.resolution = max(1, int(config.resolution))
        start_local = datetime.fromtimestamp(sim.model.start_t, BRUSSELS).date()
        origin_day = start_local - timedelta(days=max(0, config.history_days))
        self.origin_t = int(datetime(origin_day.year, origin_day.month, origin_day.day,
                                     tzinfo=BRUSSELS).timestamp())
        self._model: HouseModel | None = None
        self._samples: dict[int, Sample] = {}
        self._lock = asyncio.Lock()

    async def samples(self, day: date, now_t: int) -> list[Sample]:
        start = int(datetime(day.year, day.month, day.day, tzinfo=BRUSSELS).timestamp())
        end_day = day + timedelta(days=1)
        end = int(datetime(end_day.year, end_day.month, end_day.day, tzinfo=BRUSSELS).timestamp())
        last = min(end - 1, now_t)
        first = max(start, self.origin_t)
        if last < first:
            return []
        async with self._lock:
            await self._advance(last)
        r = self.resolution
        return [self._samples[t] for t in range(math.ceil(first / r) * r, last + 1, r)
                if t in self._samples]

    async def _advance(self, target: int) -> None:
        if self._model is None:
            self._model = HouseModel(self.sim.model.seed, self.sim.model.features,
                                     datetime.fromtimestamp(self.origin_t, UTC))
            self._samples[self._model.t] = Sample.of(self._model.snapshot())
        model, r = self._model, self.resolution
        steps = 0
        while model.t < target:
            before = model.t
            model.advance_to(min(target, (model.t // r + 1) * r))
            steps += model.t - before
            if model.t % r == 0:
                self._samples[model.t] = Sample.of(model.snapshot())
            if steps > 2000:
                steps = 0
                await asyncio.sleep(0)  # never block the local API for long


def _kw(watts: float) -> float:
    return round(watts / 1000.0, 3)


class CloudApi:
    """Handler for `/api/v1/*`."""

    def __init__(self, sim: Box, config: CloudSimConfig | None = None) -> None:
        self.sim = sim
        self.config = config or CloudSimConfig()
        self.faults = CloudFaults()
        self.history = CloudHistory(sim, self.config)
        self.requests: list[tuple[str, int]] = []  # (path, status) of every answer

    # ----------------------------------------------------------------- control

    def control(self, method: str, body: dict[str, Any] | None) -> tuple[int, Any]:
        if method == "POST" and body:
            self.faults.update(body)
        return 200, {"faults": self.faults.__dict__,
                     "requests": [{"path": p, "status": s} for p, s in self.requests]}

    # ---------------------------------------------------------------- serving

    def _answer(self, path: str, status: int, obj: Any, headers: dict[str, str] | None = None
                ) -> Response:
        self.requests.append((path, status))
        body = (json.dumps(obj, separators=(",", ":")) + "\n").encode()
        if status == 200 and self.faults.malformed:
            body = body[: max(1, len(body) // 2)]
        return Response(status, body, headers=headers or {})

    async def handle(self, request: Request) -> Response:
        path = request.path[len(PREFIX):].strip("/")
        f = self.faults
        if f.delay:
            await asyncio.sleep(f.delay)
        if request.method != "GET":
            return self._answer(path, 405, {"status": "error", "message": "read-only simulator"})
        given = request.headers.get("authorization", "")
        expected = f"Bearer {self.config.token}"
        if f.revoked or not hmac.compare_digest(given.encode(), expected.encode()):
            return self._answer(path, 401, {"status": "error", "message": "Invalid token"})
        if f.status is not None and (f.count is None or f.count > 0):
            if f.count is not None:
                f.count -= 1
            status = f.status
            if f.count == 0:
                f.status = f.count = None
            headers = {"Retry-After": f.retry_after} if f.retry_after is not None else {}
            return self._answer(path, status, {"status": "error", "message": "injected"},
                                headers)
        status, data = await self._route(path)
        if status != 200:
            return self._answer(path, status, {"status": "error", "message": "not found"})
        payload = data.value if isinstance(data, _Raw) else {"data": data, "status": "ok"}
        return self._answer(path, 200, payload)

    async def _route(self, path: str) -> tuple[int, Any]:
        ident = self.config.installation_id
        feats = self.sim.model.features
        if path == "installation/all":
            return 200, [{"id": ident, "name": self.config.name}]
        if path == f"installation/{ident}":
            return 200, {"id": ident, "name": self.config.name}
        if path == f"actual/{ident}/summary/power":
            s = self.sim.snapshot()
            return 200, {"powers": {"grid": _kw(s.grid_w), "solar": _kw(s.pv_w),
                                    "home": _kw(s.house_w), "battery": _kw(s.battery_w),
                                    "car": _kw(s.car_w)}, "extra": {}}
        if path.startswith(f"actual/{ident}/detail/"):
            return self._detail(path.rsplit("/", 1)[1])
        match = _HISTORY.match(path)
        if match and match.group(1) == ident and match.group(3) == "power":
            device = match.group(2)
            present = {"grid": True, "home": True, "solar": feats.solar,
                       "battery": feats.battery, "charger": feats.charger, "plug": feats.plug}
            if not present.get(device) or device in self.faults.missing:
                return 404, None
            try:
                day = date(int(match.group(4)), int(match.group(5)), int(match.group(6)))
            except ValueError:
                return 404, None
            snaps = await self.history.samples(day, int(self.sim.clock.timestamp()))
            return 200, self._shape(device, snaps)
        return 404, None

    def _detail(self, kind: str) -> tuple[int, Any]:
        s = self.sim.snapshot()
        feats = self.sim.model.features
        inverter = self.sim.model.inverter_id
        if kind == "grid":
            return 200, {"power": _kw(s.grid_w), "captar_actual": _kw(s.captar_actual_w)}
        if kind == "home":
            return 200, {"power": _kw(s.house_w)}
        if kind == "solar" and feats.solar:
            return 200, [{"id": inverter, "localid": lid, "power": _kw(p)}
                         for lid, p in zip(feats.localids(), s.pv_inverter_w, strict=False)]
        if kind == "battery" and feats.battery:
            return 200, [{"id": inverter, "localid": "A01", "name": "battery",
                          "power": _kw(s.battery_w), "battery": {"soc": round(s.soc_pct, 1)}}]
        if kind == "charger" and feats.charger:
            return 200, [{"id": "charger-1", "power": _kw(s.car_w)}]
        if kind == "plug" and feats.plug:
            return 200, [{"id": "plug-1", "power": _kw(s.plug_w)}]
        return 404, None

    def _shape(self, device: str, snaps: list[Sample]) -> Any:
        def watts(s: Sample) -> int:
            return {"grid": s.grid_w, "solar": s.pv_w, "battery": s.battery_w,
                    "home": s.house_w, "charger": s.car_w, "plug": s.plug_w}[device]

        shape = self.faults.shape
        if shape == "epoch":
            return [{"time": s.t, "power": _kw(watts(s))} for s in snaps]
        if shape == "epoch-ms":
            return [[s.t * 1000, _kw(watts(s))] for s in snaps]
        if shape == "naive-local":
            return [{"date": s.local.replace(tzinfo=None).isoformat(), "value": _kw(watts(s))}
                    for s in snaps]
        if shape == "values-object":
            return {"unit": "kW", "interval": self.history.resolution,
                    "values": [{"timestamp": s.local.isoformat(), "value": _kw(watts(s))}
                               for s in snaps]}
        if shape == "watts":
            return {"unit": "W", "values": [{"timestamp": s.utc.isoformat(),
                                             "value": watts(s)} for s in snaps]}
        if shape == "unknown":
            return _Raw({"result": {"series": [{"x": s.t, "y": watts(s)} for s in snaps]}})
        return [{"timestamp": s.local.isoformat(), "value": _kw(watts(s))} for s in snaps]


@dataclass
class _Raw:
    """A body served as is, without the envelope (the "unknown" shape)."""

    value: Any = field(default=None)


def add_cloud_arguments(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("simulated cloud API (under /api/v1/ on the same port)")
    g.add_argument("--cloud-token", default=CloudSimConfig.token,
                   help="bearer token the cloud API accepts (default %(default)s)")
    g.add_argument("--cloud-resolution", type=int, default=300,
                   help="seconds between cloud history samples (default 300)")
    g.add_argument("--cloud-history-days", type=int, default=1,
                   help="days of cloud history before the start day (default 1)")


def cloud_config_from_args(args: argparse.Namespace) -> CloudSimConfig:
    return CloudSimConfig(token=args.cloud_token, resolution=max(1, args.cloud_resolution),
                          history_days=max(0, args.cloud_history_days))
