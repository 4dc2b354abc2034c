"""Polling the box's local HTTP API: five endpoints, concurrently, each with its own timeout.

One slow endpoint never delays the others; every answer is classified (ok, absent device type,
failed) and one poll becomes one `PollResult` with its points. Parsing is
`logger.sources.local.parse`.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any

import httpx

from logger.core.belgian_time import MeterClock, is_nonexistent, parse_compact, utc_candidates
from logger.core.clock_trust import BOUND_S, ClockTrust
from logger.core.logs import get_logger
from logger.core.point import Point, tag_problem
from logger.core.problems import Problems
from logger.sources.local.parse import (
    device_points,
    grid_power_w,
    meter_fields,
    total_power_w,
)
from logger.sources.local.receive_time import ReceiveStamper
from logger.sources.power_flow import power_flow_point
from logger.sources.values import as_device_list, parse_json, unwrap

log = get_logger(__name__)

ENDPOINTS = ("meter", "solar", "battery", "charger", "plug")
MAX_DEVICES = 64  # per endpoint and poll; a house has a handful
MAX_METERS = 4  # meter clocks kept (and persisted): a box inventing ids cannot grow them


UNKNOWN_HOST = "unknown host"
REFUSED = "connection refused"


def connect_problem(exc: BaseException) -> str:
    """What a failed request most likely means, in words: the name does not resolve, nothing
    listens on that port, or the exception's name when it is something else."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, socket.gaierror):
            return f"{UNKNOWN_HOST} (the name does not resolve)"
        if isinstance(cause, ConnectionRefusedError):
            return f"{REFUSED} (nothing listens on that port)"
        cause = cause.__cause__ or cause.__context__
    return type(exc).__name__


class Status(Enum):
    OK = "ok"
    ABSENT = "absent"  # the installation has no such device: normal, not an error
    FAILED = "failed"  # we could not tell: timeout, 5xx, invalid body


@dataclass
class EndpointResult:
    name: str
    status: Status
    payload: Any = None
    error: str = ""
    mono: float = 0.0  # monotonic time the answer arrived


@dataclass
class PollResult:
    points: list[Point] = field(default_factory=list)
    endpoints: dict[str, EndpointResult] = field(default_factory=dict)
    meter_time: datetime | None = None


class LocalCollector:
    """Polls the five `/api/ems/*` endpoints and turns one poll into points."""

    def __init__(
        self,
        url: str,
        installation: str,
        timeout: float,
        problems: Problems,
        last_meter_times: dict[str, datetime] | None = None,
        client: httpx.AsyncClient | None = None,
        clock: ClockTrust | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.installation = installation
        self.timeout = timeout
        self.problems = problems
        self._client = client or httpx.AsyncClient(
            timeout=httpx.Timeout(timeout), headers={"User-Agent": "jullix-logger"}
        )
        newest = sorted((last_meter_times or {}).items(), key=lambda item: item[1])
        self._clocks: OrderedDict[str, MeterClock] = OrderedDict(
            (meter_id, MeterClock(last)) for meter_id, last in newest[-MAX_METERS:]
        )
        self._endpoint_state: dict[str, Status] = {}
        # Which clock stamps receive-time points (logger.core.clock_trust); the service shares
        # one with the P1 job, so either meter source can vouch for the host clock.
        self.clock = clock or ClockTrust(floor=max(self.last_meter_times.values(), default=None))
        self.stamper = ReceiveStamper(self.clock, problems)

    async def close(self) -> None:
        await self._client.aclose()

    async def fetch(self, name: str) -> EndpointResult:
        """One endpoint, classified. Never raises: a collector must outlive any payload."""
        try:
            response = await asyncio.wait_for(
                self._client.get(f"{self.url}/api/ems/{name}"), self.timeout + 1.0
            )
        except (TimeoutError, httpx.TimeoutException):
            return EndpointResult(name, Status.FAILED, error="timed out")
        except httpx.HTTPError as exc:
            return EndpointResult(name, Status.FAILED, error=connect_problem(exc))
        arrived = time.monotonic()
        if response.status_code == 404:
            return EndpointResult(name, Status.ABSENT, mono=arrived)
        if response.status_code != 200:
            return EndpointResult(name, Status.FAILED, error=f"HTTP {response.status_code}")
        try:
            payload = parse_json(response.content)
        except ValueError as exc:
            return EndpointResult(
                name, Status.FAILED, error=f"invalid JSON ({exc}): {response.text[:80]!r}"
            )
        return EndpointResult(name, Status.OK, payload=payload, mono=arrived)

    async def poll(self, received_at: datetime | None = None) -> PollResult:
        """Fetch all endpoints at once and build this poll's points.

        The meter point carries the meter's time; the other points are stamped by
        `ReceiveStamper` with the poll's start (host clock `received_at`, default now), or by
        the meter clock when the host clock is off (see `logger.core.clock_trust`).
        """
        mono = time.monotonic()
        host = received_at or datetime.now(UTC)
        stamp = host.replace(microsecond=0)
        results = await asyncio.gather(*(self.fetch(name) for name in ENDPOINTS))
        result = PollResult(endpoints={r.name: r for r in results})
        for r in results:
            self._note_state(r)
        received: list[Point] = []
        device_lists: dict[str, list[dict[str, Any]] | None] = {}
        for name in ENDPOINTS[1:]:
            device_lists[name] = self._devices(result.endpoints[name])
            if device_lists[name]:
                received.extend(
                    device_points(name, device_lists[name], self.installation, stamp,
                                  self.problems)
                )
        grid = None
        meter_result = result.endpoints["meter"]
        if meter_result.status is Status.OK:
            meter = self._meter_object(meter_result.payload)
            if meter is not None:
                grid = grid_power_w(meter)
                at = meter_result.mono or mono
                point = self._meter_point(meter, at, host + timedelta(seconds=at - mono))
                if point is not None:
                    result.points.append(point)
                    result.meter_time = point.time

        def total(name: str) -> float | None:
            devices = device_lists[name]
            return None if devices is None else total_power_w(devices)

        flow = power_flow_point(
            self.installation, stamp, "local", grid, total("solar"), total("battery"),
            total("charger"),
        )
        if flow is not None and grid is not None:
            received.append(flow)
        result.points.extend(self.stamper.stamp(received, mono, host))
        return result

    # -- helpers ----------------------------------------------------------------------

    def _note_state(self, result: EndpointResult) -> None:
        """Log when an endpoint changes state, not on every poll."""
        previous = self._endpoint_state.get(result.name)
        self._endpoint_state[result.name] = result.status
        if result.status is Status.FAILED:
            self.problems.report(
                f"local_{result.name}_failed",
                "local /api/ems/%s failed: %s",
                result.name,
                result.error,
            )
        elif previous is Status.FAILED:
            log.info("local /api/ems/%s answers again", result.name)
        elif previous is None and result.status is Status.ABSENT:
            log.info("local /api/ems/%s: no such device in this installation", result.name)

    def _devices(self, result: EndpointResult) -> list[dict[str, Any]] | None:
        """The device list, [] when absent, None when unknown (failed or unparseable)."""
        if result.status is Status.ABSENT:
            return []
        if result.status is Status.FAILED:
            return None
        devices = as_device_list(result.payload)
        if devices is None:
            self.problems.report(
                f"local_{result.name}_shape",
                "local /api/ems/%s: unexpected payload shape, skipped: %.200r",
                result.name,
                result.payload,
            )
        elif len(devices) > MAX_DEVICES:
            self.problems.report(
                f"local_{result.name}_too_many",
                "local /api/ems/%s: %d devices; only the first %d are written",
                result.name, len(devices), MAX_DEVICES,
            )
            devices = devices[:MAX_DEVICES]
        return devices

    def _meter_object(self, payload: Any) -> dict[str, Any] | None:
        meter = unwrap(payload)
        if isinstance(meter, list):
            meter = meter[0] if meter and isinstance(meter[0], dict) else None
        if not isinstance(meter, dict) or not meter:
            self.problems.report(
                "local_meter_shape",
                "local /api/ems/meter: not a meter object, skipped: %.200r",
                payload,
            )
            return None
        return meter

    def _meter_point(self, meter: dict[str, Any], mono: float, host: datetime) -> Point | None:
        """The `meter` point at the meter's own time; None for a repeat or a refused time."""
        meter_id = meter.get("meter")
        if not isinstance(meter_id, str | int) or not str(meter_id).strip():
            self.problems.report(
                "local_meter_no_id", "local meter payload has no meter id; meter point skipped"
            )
            return None
        meter_id = str(meter_id).strip()
        problem = tag_problem(meter_id)
        if problem is not None:
            self.problems.report(
                "local_meter_bad_id",
                "local meter id %.60r cannot be a tag (%s); meter point skipped", meter_id, problem,
            )
            return None
        raw_time = meter.get("time")
        try:
            naive = parse_compact(str(raw_time) if isinstance(raw_time, int) else raw_time)
        except ValueError:
            self.problems.report(
                "local_meter_time",
                "local meter time %.40r is not YYMMDDhhmmss; meter point skipped",
                raw_time,
            )
            return None
        if is_nonexistent(naive):
            self.problems.report(
                "local_meter_time_gap",
                "local meter time %s does not exist in Brussels (spring-forward gap)",
                raw_time,
            )
        clock = self._clock_of(meter_id)
        expected = self.clock.expected(mono, host)
        tentative = False
        if expected is None and len(utc_candidates(naive)) > 1:
            # The repeated autumn hour, and no meter clock course to tell which of its two
            # instants this is: a guess (the reading after the previous one, or the host's
            # instant when the host agrees with one of them), or nothing at all.
            near_host = [c for c in utc_candidates(naive)
                         if abs((c - host).total_seconds()) <= BOUND_S]
            if clock.last is None and not near_host:
                self.problems.report(
                    "local_meter_time_ambiguous",
                    "local meter time %s falls in the repeated autumn hour and nothing tells "
                    "which of its two instants it is; meter point skipped", raw_time,
                )
                return None
            tentative = True
        moment = clock.resolve(naive.strftime("%y%m%d%H%M%S"), host, expected)
        if clock.last is not None and moment == clock.last:
            return None  # the same reading again: already written
        refused = self.clock.observe(moment, mono, host, tentative)
        if refused is not None:
            self.problems.report(
                "local_meter_time_implausible",
                "local meter time %s refused (%s); meter point skipped",
                raw_time, refused,
            )
            return None
        if clock.last is not None and moment < clock.last:
            self.problems.report(
                "local_meter_time_backwards",
                "local meter time went backwards from %s to %s",
                clock.last.isoformat(),
                moment.isoformat(),
                level=logging.INFO,
            )
        clock.last = moment
        tags = {"installation": self.installation, "meter_id": meter_id}
        return Point.make("meter", tags, meter_fields(meter), moment)

    def _clock_of(self, meter_id: str) -> MeterClock:
        """The meter's clock; the least recently seen of more than `MAX_METERS` is forgotten."""
        clock = self._clocks.get(meter_id)
        if clock is None:
            clock = self._clocks[meter_id] = MeterClock()
            while len(self._clocks) > MAX_METERS:
                self._clocks.popitem(last=False)
        self._clocks.move_to_end(meter_id)
        return clock

    @property
    def last_meter_times(self) -> dict[str, datetime]:
        return {k: c.last for k, c in self._clocks.items() if c.last is not None}
