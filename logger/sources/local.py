"""The box's local HTTP API (`/api/ems/*`) turned into points.

Parsing is split from fetching: the `*_points` functions are pure (payload in, points out) so they
can be tested and fuzzed without a network; `LocalCollector` fetches the five endpoints
concurrently, each with its own timeout, so one slow endpoint never delays the others.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from typing import Any

import httpx

from logger.belgian_time import MeterClock, is_nonexistent, parse_compact
from logger.point import Point
from logger.problems import Problems
from logger.sources.values import as_device_list, flag, kw_to_w, number, snake, unwrap

log = logging.getLogger(__name__)

ENDPOINTS = ("meter", "solar", "battery", "charger", "plug")


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


# -- pure parsing -------------------------------------------------------------------------


def _nonzero(value: float | None) -> float | None:
    """The box reports an absent phase voltage or water meter as 0; that is not a reading."""
    return None if value == 0 else value


def meter_fields(meter: dict[str, Any]) -> dict[str, float | None]:
    """The `meter` measurement's fields from the meter object (kW -> W, absent 0s dropped)."""
    energy = meter.get("energy") if isinstance(meter.get("energy"), dict) else {}
    power = meter.get("power") if isinstance(meter.get("power"), dict) else {}
    captar = meter.get("captar") if isinstance(meter.get("captar"), dict) else {}
    voltage = meter.get("voltage") if isinstance(meter.get("voltage"), dict) else {}
    tariff = number(meter.get("tariff"))
    return {
        "power_import_w": kw_to_w(power.get("in")),
        "power_export_w": kw_to_w(power.get("out")),
        "energy_import_t1_kwh": number(energy.get("in_1")),
        "energy_import_t2_kwh": number(energy.get("in_2")),
        "energy_export_t1_kwh": number(energy.get("out_1")),
        "energy_export_t2_kwh": number(energy.get("out_2")),
        "voltage_l1_v": _nonzero(number(voltage.get("l1"))),
        "voltage_l2_v": _nonzero(number(voltage.get("l2"))),
        "voltage_l3_v": _nonzero(number(voltage.get("l3"))),
        "gas_m3": _nonzero(number(meter.get("gas"))),
        "water_m3": _nonzero(number(meter.get("water"))),
        "captar_avg_w": kw_to_w(captar.get("actual")),
        "captar_month_max_w": kw_to_w(captar.get("month_max_value")),
        # 0 is not a DSMR tariff (1 = day, 2 = night); only real tariff values are kept.
        "tariff": tariff if tariff in (1.0, 2.0) else None,
    }


def grid_power_w(meter: dict[str, Any]) -> float | None:
    """Net grid power in W: + import, - export."""
    power = meter.get("power") if isinstance(meter.get("power"), dict) else {}
    imported, exported = kw_to_w(power.get("in")), kw_to_w(power.get("out"))
    if imported is None and exported is None:
        return None
    return (imported or 0.0) - (exported or 0.0)


def device_id(device: dict[str, Any]) -> str | None:
    for key in ("id", "device_id", "mac", "serial"):
        value = device.get(key)
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value).strip():
            return str(value).strip()
    return None


def _localid(device: dict[str, Any]) -> str | None:
    value = device.get("localid")
    return str(value).strip() if isinstance(value, str | int) and str(value).strip() else None


def solar_fields(device: dict[str, Any]) -> dict[str, float | None]:
    return {
        "power_w": kw_to_w(device.get("power")),
        "energy_kwh": number(device.get("energy")),
        "fault": number(device.get("fault")),
        "direct_timeout": flag(device.get("direct_timeout")),
    }


def battery_fields(device: dict[str, Any]) -> dict[str, float | None]:
    pack = device.get("battery") if isinstance(device.get("battery"), dict) else {}
    return {
        "power_w": kw_to_w(device.get("power")),
        "energy_charged_kwh": number(device.get("energy_charged")),
        "energy_discharged_kwh": number(device.get("energy_discharged")),
        "voltage_v": number(pack.get("voltage")),
        "soc_pct": number(pack.get("soc")),
        "fault": number(pack.get("fault")),
        "direct_timeout": flag(device.get("direct_timeout")),
    }


# Keys of charger/plug objects whose unit we know; everything else numeric keeps its own name.
_GENERIC_NAMES = {
    "soc": "soc_pct",
    "temperature": "temperature_c",
    "max_current": "max_current_a",
    "current": "current_a",
    "voltage": "voltage_v",
    "energy": "energy_kwh",
    "max_power": "max_power_w",
}
_IDENTITY_KEYS = {"id", "device_id", "mac", "serial", "localid", "device", "name", "description"}


def generic_fields(device: dict[str, Any], prefix: str = "") -> dict[str, float | None]:
    """`power_w` and every other numeric or boolean value of a charger or plug object.

    Strings (a charger `state`) are not fields: a field's type is fixed forever in InfluxDB,
    and this schema keeps every field a float.
    """
    fields: dict[str, float | None] = {}
    for key, value in device.items():
        name = snake(str(key))
        if not name or (not prefix and name in _IDENTITY_KEYS):
            continue
        full = f"{prefix}{name}"
        if isinstance(value, dict):
            fields.update(generic_fields(value, prefix=f"{full}_"))
            continue
        if full in ("power", "current_power"):
            fields["power_w"] = kw_to_w(value)
            continue
        if full in ("max_power",):
            fields["max_power_w"] = kw_to_w(value)
            continue
        converted = flag(value) if isinstance(value, bool) else number(value)
        if converted is None and isinstance(value, str):
            converted = flag(value)
        if converted is not None:
            fields[_GENERIC_NAMES.get(full, full)] = converted
    return fields


_DEVICE_FIELDS: dict[str, Callable[[dict[str, Any]], dict[str, float | None]]] = {
    "solar": solar_fields,
    "battery": battery_fields,
    "charger": generic_fields,
    "plug": generic_fields,
}


def device_points(
    kind: str,
    devices: Iterable[dict[str, Any]],
    installation: str,
    received_at: datetime,
    problems: Problems | None = None,
) -> list[Point]:
    """Points for a list of solar/battery/charger/plug devices, stamped at receive time."""
    points = []
    fields_of = _DEVICE_FIELDS[kind]
    for device in devices:
        ident = device_id(device)
        localid = _localid(device)
        if ident is None and localid is None:
            if problems is not None:
                problems.report(
                    f"local_{kind}_no_id",
                    "local %s: a device without id or localid was skipped: %.200r",
                    kind,
                    device,
                )
            continue
        tags = {"installation": installation, "device_id": ident or localid, "localid": localid}
        point = Point.make(kind, tags, fields_of(device), received_at)
        if point is not None:
            points.append(point)
    return points


def total_power_w(devices: Iterable[dict[str, Any]]) -> float:
    """Sum of `power` over devices in W; devices that report no power count as 0."""
    total = 0.0
    for device in devices:
        value = kw_to_w(device.get("power", device.get("current_power")))
        total += value or 0.0
    return total


def power_flow_point(
    installation: str,
    received_at: datetime,
    grid_w: float | None,
    solar_w: float | None,
    battery_w: float | None,
    car_w: float | None,
    source: str = "local",
) -> Point | None:
    """The installation-level view. `home_w` only when every term is known.

    Conventions: grid + import / - export; battery + discharging / - charging (the box's
    inverter convention); home = grid + solar + battery - car (consumption other than the car).
    """
    home = None
    if None not in (grid_w, solar_w, battery_w, car_w):
        home = grid_w + solar_w + battery_w - car_w  # type: ignore[operator]
    fields = {
        "grid_w": grid_w,
        "solar_w": solar_w,
        "battery_w": battery_w,
        "car_w": car_w,
        "home_w": home,
    }
    return Point.make("power_flow", {"installation": installation, "source": source}, fields,
                      received_at)


# -- fetching -----------------------------------------------------------------------------


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
    ) -> None:
        self.url = url.rstrip("/")
        self.installation = installation
        self.timeout = timeout
        self.problems = problems
        self._client = client or httpx.AsyncClient(
            timeout=httpx.Timeout(timeout), headers={"User-Agent": "jullix-logger"}
        )
        self._clocks: dict[str, MeterClock] = {
            meter_id: MeterClock(last) for meter_id, last in (last_meter_times or {}).items()
        }
        self._endpoint_state: dict[str, Status] = {}

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
            return EndpointResult(name, Status.FAILED, error=type(exc).__name__)
        if response.status_code == 404:
            return EndpointResult(name, Status.ABSENT)
        if response.status_code != 200:
            return EndpointResult(name, Status.FAILED, error=f"HTTP {response.status_code}")
        try:
            payload = response.json()
        except ValueError:
            return EndpointResult(
                name, Status.FAILED, error=f"invalid JSON: {response.text[:80]!r}"
            )
        return EndpointResult(name, Status.OK, payload=payload)

    async def poll(self, received_at: datetime | None = None) -> PollResult:
        """Fetch all endpoints at once and build this poll's points."""
        stamp = (received_at or datetime.now(UTC)).replace(microsecond=0)
        results = await asyncio.gather(*(self.fetch(name) for name in ENDPOINTS))
        result = PollResult(endpoints={r.name: r for r in results})
        for r in results:
            self._note_state(r)
        device_lists: dict[str, list[dict[str, Any]] | None] = {}
        for name in ENDPOINTS[1:]:
            device_lists[name] = self._devices(result.endpoints[name])
            if device_lists[name]:
                result.points.extend(
                    device_points(name, device_lists[name], self.installation, stamp,
                                  self.problems)
                )
        grid = None
        meter_result = result.endpoints["meter"]
        if meter_result.status is Status.OK:
            meter = self._meter_object(meter_result.payload)
            if meter is not None:
                grid = grid_power_w(meter)
                point = self._meter_point(meter, stamp)
                if point is not None:
                    result.points.append(point)
                    result.meter_time = point.time

        def total(name: str) -> float | None:
            devices = device_lists[name]
            return None if devices is None else total_power_w(devices)

        flow = power_flow_point(
            self.installation, stamp, grid, total("solar"), total("battery"), total("charger")
        )
        if flow is not None and grid is not None:
            result.points.append(flow)
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

    def _meter_point(self, meter: dict[str, Any], received_at: datetime) -> Point | None:
        meter_id = meter.get("meter")
        if not isinstance(meter_id, str | int) or not str(meter_id).strip():
            self.problems.report(
                "local_meter_no_id", "local meter payload has no meter id; meter point skipped"
            )
            return None
        meter_id = str(meter_id).strip()
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
        clock = self._clocks.setdefault(meter_id, MeterClock())
        moment = clock.resolve(naive.strftime("%y%m%d%H%M%S"), received_at)
        if clock.last is not None and moment == clock.last:
            return None  # the same reading again: already written
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

    @property
    def last_meter_times(self) -> dict[str, datetime]:
        return {k: c.last for k, c in self._clocks.items() if c.last is not None}
