"""The box's local API payloads (`/api/ems/*`) turned into fields and points. Pure, no I/O.

Split from fetching (`collector`) so it can be tested and fuzzed without a network.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from logger.core.point import Point, tag_problem
from logger.core.problems import Problems
from logger.sources.values import flag, kw_to_w, number, snake


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
# Identity, not measurement; and never a field named like a tag (`installation`, `device_id`,
# `localid`): InfluxDB 3 refuses a line whose tag and field share a name.
_IDENTITY_KEYS = {"id", "device_id", "mac", "serial", "localid", "device", "name", "description",
                  "installation"}


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
        bad = next((v for v in (ident, localid) if v is not None and tag_problem(v)), None)
        if bad is not None:
            if problems is not None:
                problems.report(
                    f"local_{kind}_bad_id",
                    "local %s: a device whose id %.60r cannot be a tag (%s) was skipped",
                    kind, bad, tag_problem(bad),
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
