"""Control endpoints under `/_sim/` for tests and demos (never part of the real box's API).

They let a test that runs the simulator in another process switch faults, read what was served
(for exact accounting of what the logger should have stored), inspect the model state and move
the simulated clock, all over plain HTTP on the same port as the local API.

  GET  /_sim/faults   current fault settings (+ `down_seconds` remaining)
  POST /_sim/faults   JSON object merged into the settings (see Faults.update); answers the result
  GET  /_sim/served   list of meter readings served: [{"time", "utc", "values"}, ...]
  GET  /_sim/p1       P1 stream ground truth: telegrams delivered (second, text time, valid or
                      how damaged), connections; P1 faults go in POST /_sim/faults {"p1": {...}}
  GET  /_sim/state    model state at the current simulated time
  GET  /_sim/cloud    cloud API faults and every cloud request answered: {"faults", "requests"}
  POST /_sim/cloud    cloud faults (see cloud_api.CloudFaults): {"status": 429, "count": 1,
                      "retry_after": "2"}, {"revoked": true}, {"shape": ...}, {"reset": true}
  GET  /_sim/entsoe   the fake Transparency Platform's faults and requests (entsoe_api.py)
  POST /_sim/entsoe   its faults: {"status": 503, "count": 1}, {"missing_days": [...]}, ...
  GET  /_sim/clock    {"utc", "local", "speed"}
  POST /_sim/clock    {"jump_seconds": s} | {"set": iso-datetime} | {"speed": x}; forward only
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any, Protocol

from .clock import SimClock
from .cloud_api import CloudApi
from .entsoe_api import EntsoeApi
from .faults import Faults
from .httpserver import Request, Response
from .local_api import ServedReading
from .model import BRUSSELS
from .p1_stream import P1Stream


class Box(Protocol):
    """What the control API reads and changes of the simulated box."""

    clock: SimClock
    faults: Faults
    cloud_api: CloudApi
    entsoe_api: EntsoeApi
    p1_stream: P1Stream

    @property
    def served_meter_readings(self) -> list[ServedReading]: ...

    def state(self) -> dict[str, Any]: ...

PREFIX = "/_sim/"


def _json(obj: Any, status: int = 200) -> Response:
    return Response(status, (json.dumps(obj) + "\n").encode())


def _error(status: int, message: str) -> Response:
    return _json({"error": message}, status)


class ControlApi:
    """Handler for `/_sim/*`."""

    def __init__(self, sim: Box) -> None:
        self.sim = sim

    async def handle(self, request: Request) -> Response:
        name = request.path[len(PREFIX) :].rstrip("/")
        method = request.method
        body: Any = None
        if method == "POST":
            try:
                body = json.loads(request.body or b"{}")
            except (ValueError, UnicodeDecodeError) as exc:
                return _error(400, f"invalid JSON body: {exc}")
            if not isinstance(body, dict):
                return _error(400, "body must be a JSON object")
        elif method != "GET":
            return _error(405, "use GET or POST")

        if name == "faults":
            p1 = self.sim.p1_stream
            if method == "POST":
                try:
                    p1_changes = p1.faults.prepare(body.pop("p1", {}))  # validate first
                    self.sim.faults.update(body)
                except ValueError as exc:
                    return _error(400, str(exc))
                p1.apply(*p1_changes)
            return _json({**self.sim.faults.to_dict(), "p1": p1.faults.to_dict()})
        if name == "p1" and method == "GET":
            return _json(self.sim.p1_stream.ground_truth())
        if name == "cloud":
            try:
                _, answer = self.sim.cloud_api.control(method, body)
            except (ValueError, TypeError) as exc:
                return _error(400, str(exc))
            return _json(answer)
        if name == "entsoe":
            try:
                return _json(self.sim.entsoe_api.control(method, body))
            except (ValueError, TypeError) as exc:
                return _error(400, str(exc))
        if name == "served" and method == "GET":
            return _json([r.to_dict() for r in self.sim.served_meter_readings])
        if name == "state" and method == "GET":
            return _json(self.sim.state())
        if name == "clock":
            if method == "POST":
                try:
                    self._move_clock(body)
                except (ValueError, TypeError) as exc:
                    return _error(400, str(exc))
            return _json(self._clock())
        return _error(404, f"unknown control endpoint {request.path}")

    def _clock(self) -> dict[str, Any]:
        now = self.sim.clock.now()
        return {
            "utc": now.isoformat(),
            "local": now.astimezone(BRUSSELS).isoformat(),
            "speed": self.sim.clock.speed,
        }

    def _move_clock(self, body: dict[str, Any]) -> None:
        clock = self.sim.clock
        unknown = set(body) - {"jump_seconds", "set", "speed"}
        if unknown:
            raise ValueError(f"unknown clock keys: {sorted(unknown)}")
        if "set" in body:
            target = datetime.fromisoformat(body["set"])
            if target.tzinfo is None:
                target = target.replace(tzinfo=BRUSSELS)
            if target < clock.now():
                raise ValueError("the simulated clock cannot go backwards")
            clock.set(target)
        if "jump_seconds" in body:
            seconds = float(body["jump_seconds"])
            if seconds < 0:
                raise ValueError("jump_seconds must be >= 0")
            clock.jump(timedelta(seconds=seconds))
        if "speed" in body:
            clock.set_speed(float(body["speed"]))
