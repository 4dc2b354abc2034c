"""The box's local HTTP API: `GET /api/ems/{meter,solar,battery,charger,plug}`.

Payload shapes, key order and number formatting copy the real samples in
reference/jullix-api.md §1: compact JSON; every float is the float32 value of the quantity,
printed the way cJSON prints a double (17 significant digits unless 15 round-trip:
`2.799` -> `2.7990000247955322`, `0.01` -> `0.00999999977648258`, whole numbers as integers,
`0.0` -> `0`; see `format_float`); the meter `time` in Belgian local time `YYMMDDhhmmss` without
DST flag. Matching the real format exactly is the point: the logger's parsers are tested against
what they will really see.

Resolutions (what a real box can show): meter power 1 W, meter energy 1 Wh (floored, like a
register), captar 1 W, voltage 0.1 V, gas/water 1 l; inverter power 10 W and inverter/battery
energy 0.1 kWh (Sofar registers, see the samples' `954.5` and `0.00999999977648258`).
"""

from __future__ import annotations

import asyncio
import json
import math
import struct
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from .faults import ENDPOINTS, Faults
from .httpserver import Request, Response
from .model import BRUSSELS, EV_POWER_W, HouseModel, InstallationFeatures, Snapshot

AbsentStyle = Literal["404", "empty-list", "empty-object"]
ABSENT_STYLES: tuple[str, ...] = ("404", "empty-list", "empty-object")

TIME_FORMAT = "%y%m%d%H%M%S"


# ---------------------------------------------------------------------- numbers


POISON_MARK = "poisoned-id-marker"  # replaced in the body by the escape below
POISONED_ID_JSON = b'"inv\\ud800"'  # JSON text: `inv` and a lone high surrogate


def float32(x: float) -> float:
    """The value `x` takes when stored as an IEEE single-precision float."""
    return struct.unpack("<f", struct.pack("<f", x))[0]


def format_float(x: float) -> str:
    """Print a number exactly like the box: its float32 value, printed the way cJSON does.

    cJSON (`print_number`) prints a whole number that fits an int as `%d` (`0`, `10`), else tries
    `%1.15g` and keeps it if it parses back to (nearly, within DBL_EPSILON relative) the same
    double, else uses `%1.17g`. Applied to float32 values this reproduces every number in the
    real samples, e.g. `2.7990000247955322`, `232.80000305175781` (17 digits), but also
    `0.00999999977648258` (15 digits) for float32(0.01).
    """
    v = float32(float(x))
    if not math.isfinite(v):
        raise ValueError(f"cannot print non-finite number {x!r}")
    if v == int(v) and -(2**31) <= v < 2**31:
        return str(int(v))  # also turns -0.0 into "0"
    text = f"{v:1.15g}"
    back = float(text)
    if abs(back - v) <= max(abs(back), abs(v)) * sys.float_info.epsilon:
        return text
    return f"{v:1.17g}"


def dumps(obj: Any, *, numbers_as_strings: bool = False) -> str:
    """Compact JSON with box-style floats; ints stay ints; optionally every number quoted."""
    nas = numbers_as_strings
    if obj is None:
        return "null"
    if obj is True:
        return "true"
    if obj is False:
        return "false"
    if isinstance(obj, int):
        text = str(obj)
        return f'"{text}"' if numbers_as_strings else text
    if isinstance(obj, float):
        text = format_float(obj)
        return f'"{text}"' if numbers_as_strings else text
    if isinstance(obj, str):
        return json.dumps(obj, ensure_ascii=False)
    if isinstance(obj, dict):
        items = (
            json.dumps(str(k), ensure_ascii=False) + ":" + dumps(v, numbers_as_strings=nas)
            for k, v in obj.items()
        )
        return "{" + ",".join(items) + "}"
    if isinstance(obj, list | tuple):
        return "[" + ",".join(dumps(v, numbers_as_strings=nas) for v in obj) + "]"
    raise TypeError(f"cannot serialise {type(obj).__name__}")


def as_float32(obj: Any) -> Any:
    """The payload with every float replaced by its float32 value (what a client parses)."""
    if isinstance(obj, float):
        return float32(obj)
    if isinstance(obj, dict):
        return {k: as_float32(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [as_float32(v) for v in obj]
    return obj


def local_time_string(t: int) -> str:
    """POSIX seconds -> Belgian local `YYMMDDhhmmss` (no DST flag, as the box prints it)."""
    return datetime.fromtimestamp(t, BRUSSELS).strftime(TIME_FORMAT)


# --------------------------------------------------------------------- payloads


def _kwh_wh(j: int) -> float:
    """Joules -> kWh, floored to a whole Wh (a meter register)."""
    return (j // 3600) / 1000


def _kwh_tenth(j: int) -> float:
    """Joules -> kWh, floored to 0.1 kWh (an inverter register)."""
    return (j // 360_000) / 10


def _kw_10w(w: int) -> float:
    return round(w / 10) / 100


def meter_payload(s: Snapshot, f: InstallationFeatures) -> dict[str, Any]:
    """`/api/ems/meter`: one object, as in the real sample."""
    volts = {}
    for i, phase in enumerate(("l1", "l2", "l3")):
        volts[phase] = 0.0 if phase == f.unreported_phase else s.voltage_dv[i] / 10
    return {
        "meter": f.meter_id,
        "time": local_time_string(s.t),
        "energy": {
            "in_1": _kwh_wh(s.import_j[0]),
            "in_2": _kwh_wh(s.import_j[1]),
            "out_1": _kwh_wh(s.export_j[0]),
            "out_2": _kwh_wh(s.export_j[1]),
        },
        "power": {"in": s.import_w / 1000, "out": s.export_w / 1000},
        "captar": {
            "actual": round(s.captar_actual_w) / 1000,
            "month_max_value": round(s.captar_month_max_w) / 1000,
            "month_max_time": local_time_string(s.captar_month_max_t),
        },
        "voltage": volts,
        "gas": (s.gas_ml // 1000) / 1000,
        "water": (s.water_ml // 1000) / 1000 if f.water else 0,
        "tariff": 0,
    }


def solar_payload(s: Snapshot, f: InstallationFeatures, inverter_id: str) -> list[dict[str, Any]]:
    """`/api/ems/solar`: one entry per PV inverter (same `id`, different `localid`)."""
    return [
        {
            "id": inverter_id,
            "localid": lid,
            "device": f.inverter_device,
            "power": _kw_10w(s.pv_inverter_w[i]),
            "energy": _kwh_tenth(s.pv_energy_j[i]),
            "fault": 0,
            "direct_timeout": False,
        }
        for i, lid in enumerate(f.localids())
    ]


def battery_payload(s: Snapshot, f: InstallationFeatures, inverter_id: str) -> list[dict[str, Any]]:
    """`/api/ems/battery`: the hybrid inverter A01. power > 0 = discharging, < 0 = charging."""
    return [
        {
            "id": inverter_id,
            "localid": "A01",
            "device": f.inverter_device,
            "power": _kw_10w(s.battery_w),
            "energy_charged": _kwh_tenth(s.battery_charged_j),
            "energy_discharged": _kwh_tenth(s.battery_discharged_j),
            "direct_timeout": False,
            "battery": {
                "voltage": s.battery_voltage_v,
                "soc": float(round(s.soc_pct)),
                "fault": 0,
            },
        }
    ]


def charger_payload(s: Snapshot, charger_id: str) -> list[dict[str, Any]]:
    """`/api/ems/charger`: keys from the integrations (no real sample exists)."""
    state = "charging" if s.car_w > 0 else ("connected" if s.car_connected else "idle")
    return [
        {
            "id": charger_id,
            "localid": "C01",
            "device": "Jullix EV charger",
            "power": _kw_10w(s.car_w),
            "soc": float(round(s.car_soc_pct)) if s.car_connected else 0.0,
            "temperature": round(17.0 + 1.3 * s.car_w / 1000, 1),
            "max_current": round(EV_POWER_W / 3 / 230),
            "state": state,
            "busy": s.car_connected,
            "three_phase": True,
        }
    ]


def plug_payload(s: Snapshot, plug_id: str) -> list[dict[str, Any]]:
    """`/api/ems/plug`: a fridge on a smart plug (switched on; it cycles by itself)."""
    return [{"id": plug_id, "power": s.plug_w / 1000, "plug_state": True}]


# ----------------------------------------------------------------- served record


@dataclass(frozen=True)
class ServedReading:
    """One meter reading the API actually delivered (valid JSON, HTTP 200)."""

    time: str  # the `time` string as served (Belgian local, may repeat in autumn)
    utc: datetime  # the instant it stands for
    values: dict[str, Any]  # the payload, with floats as the client parses them (float32)

    def to_dict(self) -> dict[str, Any]:
        return {"time": self.time, "utc": self.utc.isoformat(), "values": self.values}


# ------------------------------------------------------------------------ server


class LocalApi:
    """Request handler for /api/ems/*: snapshot -> payload -> faults/quirks -> response."""

    def __init__(
        self,
        model: HouseModel,
        snapshot: Callable[[], Snapshot],
        faults: Faults,
        absent_style: AbsentStyle = "404",
        *,
        sleep: Callable[[float], Any] | None = None,
        served_limit: int = 200_000,
    ) -> None:
        if absent_style not in ABSENT_STYLES:
            raise ValueError(f"absent_style must be one of {ABSENT_STYLES}, got {absent_style!r}")
        self.model = model
        self.features = model.features
        self._snapshot = snapshot
        self.faults = faults
        self.absent_style: AbsentStyle = absent_style
        self.served: list[ServedReading] = []
        self.served_limit = served_limit
        self.served_dropped = 0
        self.request_counts: dict[str, int] = dict.fromkeys(ENDPOINTS, 0)
        self._sleep = sleep or asyncio.sleep
        suffix = model.inverter_id[-4:]
        self.charger_id = f"JXEVC{suffix}"
        self.plug_id = f"JXPLG{suffix}"

    def present(self, endpoint: str) -> bool:
        """Whether the installation has this device type (the meter always exists)."""
        f = self.features
        return {
            "meter": True,
            "solar": f.solar,
            "battery": f.battery,
            "charger": f.charger,
            "plug": f.plug,
        }[endpoint]

    def payload(self, endpoint: str, s: Snapshot) -> Any:
        """The unformatted payload of a present endpoint at snapshot `s`."""
        f = self.features
        inv = self.model.inverter_id
        if endpoint == "meter":
            return meter_payload(s, f)
        if endpoint == "solar":
            return solar_payload(s, f, inv)
        if endpoint == "battery":
            return battery_payload(s, f, inv)
        if endpoint == "charger":
            return charger_payload(s, self.charger_id)
        if endpoint == "plug":
            return plug_payload(s, self.plug_id)
        raise KeyError(endpoint)

    async def handle(self, request: Request) -> Response | None:
        path = request.path.rstrip("/")
        prefix = "/api/ems/"
        endpoint = path[len(prefix) :] if path.startswith(prefix) else ""
        if endpoint not in ENDPOINTS:
            return Response(404, b"Not Found\n", "text/plain; charset=utf-8")
        if request.method not in ("GET", "HEAD"):
            return Response(405, b"Method Not Allowed\n", "text/plain", {"Allow": "GET, HEAD"})
        self.request_counts[endpoint] += 1
        decision = self.faults.decide(endpoint)
        if decision.delay > 0:
            await self._sleep(decision.delay)
            if request.client_gone():
                return None  # it gave up waiting: nothing is delivered, nothing counts as served
        if decision.action == "close":
            return None
        if decision.action == "error":
            return Response(decision.status, b"Server Error\n", "text/plain; charset=utf-8")

        settings = self.faults.settings
        if not self.present(endpoint) or endpoint in settings.absent:
            if self.absent_style == "404":
                return Response(404, b"Not Found\n", "text/plain; charset=utf-8")
            payload: Any = [] if self.absent_style == "empty-list" else {}
            snap = None
        else:
            snap = self._snapshot()
            payload = self.payload(endpoint, snap)
        if endpoint in settings.poison_ids and isinstance(payload, list) and payload:
            payload = [*payload, {**payload[0], "id": POISON_MARK, "localid": "P99"}]
        wrapped = {"data": payload} if settings.wrap_data else payload
        body = dumps(wrapped, numbers_as_strings=settings.numbers_as_strings).encode()
        body = body.replace(f'"{POISON_MARK}"'.encode(), POISONED_ID_JSON)
        if decision.action == "invalid-json":
            return Response(200, body[: max(1, len(body) // 2)])
        if endpoint == "meter" and snap is not None:
            self._record(snap, payload)
        return Response(200, body)

    def _record(self, snap: Snapshot, payload: dict[str, Any]) -> None:
        if self.served and self.served[-1].utc.timestamp() >= snap.t:
            return  # this second was already served
        self.served.append(
            ServedReading(
                time=payload["time"],
                utc=datetime.fromtimestamp(snap.t, UTC),
                values=as_float32(payload),
            )
        )
        if len(self.served) > self.served_limit:
            # Bounded so a long demo does not grow without limit; tests stay far below it.
            drop = len(self.served) - self.served_limit
            del self.served[:drop]
            self.served_dropped += drop
