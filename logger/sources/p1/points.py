"""A parsed Belgian P1 telegram (dsmr_parser `Telegram`) turned into points. Pure, no I/O.

Measurements (see docs/schema.md): `p1` at the telegram time, `p1_peak` once per Belgian month
(at the month's start, the peak's own time as a field), `p1_mbus` at each M-Bus channel's capture
time. Numbers arrive as `Decimal`: a register becomes `float(Decimal)` (the nearest double,
nothing lost at 3 decimals), a kW value is multiplied by 1000 in decimal first, so `0.338 kW` is
exactly `338.0 W`.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from logger.core.belgian_time import month_start
from logger.core.point import Point

THOUSAND = Decimal(1000)

# Plain registers: telegram attribute -> field.
PLAIN_FIELDS = {
    "ELECTRICITY_USED_TARIFF_1": "energy_import_t1_kwh",
    "ELECTRICITY_USED_TARIFF_2": "energy_import_t2_kwh",
    "ELECTRICITY_DELIVERED_TARIFF_1": "energy_export_t1_kwh",
    "ELECTRICITY_DELIVERED_TARIFF_2": "energy_export_t2_kwh",
    "INSTANTANEOUS_VOLTAGE_L1": "voltage_l1_v",
    "INSTANTANEOUS_VOLTAGE_L2": "voltage_l2_v",
    "INSTANTANEOUS_VOLTAGE_L3": "voltage_l3_v",
    "INSTANTANEOUS_CURRENT_L1": "current_l1_a",
    "INSTANTANEOUS_CURRENT_L2": "current_l2_a",
    "INSTANTANEOUS_CURRENT_L3": "current_l3_a",
}
# kW values: telegram attribute -> field in W.
KW_FIELDS = {
    "CURRENT_ELECTRICITY_USAGE": "power_import_w",
    "CURRENT_ELECTRICITY_DELIVERY": "power_export_w",
    "BELGIUM_CURRENT_AVERAGE_DEMAND": "captar_avg_w",
    "INSTANTANEOUS_ACTIVE_POWER_L1_POSITIVE": "power_import_l1_w",
    "INSTANTANEOUS_ACTIVE_POWER_L2_POSITIVE": "power_import_l2_w",
    "INSTANTANEOUS_ACTIVE_POWER_L3_POSITIVE": "power_import_l3_w",
    "INSTANTANEOUS_ACTIVE_POWER_L1_NEGATIVE": "power_export_l1_w",
    "INSTANTANEOUS_ACTIVE_POWER_L2_NEGATIVE": "power_export_l2_w",
    "INSTANTANEOUS_ACTIVE_POWER_L3_NEGATIVE": "power_export_l3_w",
}
TARIFFS = {"0001": 1.0, "0002": 2.0}
MBUS_KINDS = {3: "gas", 7: "water"}  # M-Bus device types (EN 13757-3)

_PRINTABLE = set(string.ascii_letters + string.digits + string.punctuation + " ")


class IncompleteTelegram(ValueError):
    """A telegram that parsed but lacks what every point needs (its time or the meter id)."""


@dataclass(frozen=True, slots=True)
class P1Reading:
    """What one telegram says, as points."""

    time: datetime
    meter_id: str
    point: Point | None  # `p1`
    peaks: tuple[Point, ...]  # `p1_peak`
    mbus: tuple[Point, ...]  # `p1_mbus`

    @property
    def time_s(self) -> int:
        return int(self.time.timestamp())


def decode_equipment_id(value: str) -> str:
    """`3153414733313031303231363035` -> `1SAG3101021605`; anything else is kept as sent."""
    try:
        text = bytes.fromhex(value).decode("ascii")
    except (ValueError, UnicodeDecodeError):
        return value
    if not text or not set(text) <= _PRINTABLE:
        return value
    return text.strip()


def _decimal(obj: Any) -> Decimal | None:
    value = getattr(obj, "value", None)
    if isinstance(value, Decimal) and value.is_finite():
        return value
    return None


def _float(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def p1_fields(telegram: Any) -> dict[str, float | None]:
    """The `p1` fields a telegram has; a register the meter does not send is not a field."""
    fields: dict[str, float | None] = {}
    for attribute, name in PLAIN_FIELDS.items():
        fields[name] = _float(_decimal(getattr(telegram, attribute, None)))
    for attribute, name in KW_FIELDS.items():
        value = _decimal(getattr(telegram, attribute, None))
        fields[name] = None if value is None else float(value * THOUSAND)
    month = _decimal(getattr(telegram, "BELGIUM_MAXIMUM_DEMAND_MONTH", None))
    fields["captar_month_max_w"] = None if month is None else float(month * THOUSAND)
    tariff = getattr(getattr(telegram, "ELECTRICITY_ACTIVE_TARIFF", None), "value", None)
    fields["tariff"] = TARIFFS.get(tariff) if isinstance(tariff, str) else None
    return fields


def _peak_points(telegram: Any, tags: dict[str, str]) -> list[Point]:
    """One `p1_peak` point per Belgian month, keyed at the month's start (docs/schema.md).

    A closed month's entry of `98.1.0` is stamped with the start of the following month; the
    running month's `1.6.0` belongs to the month of its peak time minus one second (a peak is
    stamped at the end of its quarter-hour by some meters, 00:00 on the 1st for the last
    quarter of a month). A closed month's entry wins over `1.6.0` for the same month.
    """
    found: dict[int, Point] = {}
    candidates: list[tuple[Any, Any, Decimal | None]] = []
    history = getattr(telegram, "BELGIUM_MAXIMUM_DEMAND_13_MONTHS", None)
    if isinstance(history, list):
        candidates.extend((getattr(e, "datetime", None), getattr(e, "occurred", None),
                           _decimal(e)) for e in history)
    month = getattr(telegram, "BELGIUM_MAXIMUM_DEMAND_MONTH", None)
    if month is not None:
        moment = getattr(month, "datetime", None)
        candidates.append((moment, moment, _decimal(month)))
    for stamp, moment, value in candidates:
        if not isinstance(moment, datetime) or not isinstance(stamp, datetime) or not value:
            continue  # `632525252525W`: a month without a peak; 0 kW: no peak yet
        month_key = month_start(int(stamp.timestamp()) - 1)
        fields = {"demand_w": float(value * THOUSAND), "occurred_s": int(moment.timestamp())}
        point = Point.make("p1_peak", tags, fields, month_key)
        if point is not None:
            found.setdefault(point.time_s, point)
    return [found[t] for t in sorted(found)]


def _mbus_points(telegram: Any, tags: dict[str, str]) -> list[Point]:
    """Gas and water chosen by M-Bus device type, never by channel number."""
    points: dict[str, Point] = {}
    devices = getattr(telegram, "MBUS_DEVICES", None) or []
    for device in sorted(devices, key=lambda d: getattr(d, "channel_id", 0)):
        device_type = getattr(getattr(device, "MBUS_DEVICE_TYPE", None), "value", None)
        kind = MBUS_KINDS.get(device_type) if isinstance(device_type, int) else None
        reading = getattr(device, "MBUS_METER_READING", None)
        if kind is None or kind in points or reading is None:
            continue
        moment = getattr(reading, "datetime", None)
        value = _decimal(reading)
        if not isinstance(moment, datetime) or value is None:
            continue
        point = Point.make("p1_mbus", {**tags, "kind": kind}, {"value_m3": float(value)}, moment)
        if point is not None:
            points[kind] = point
    return [points[k] for k in sorted(points)]


def reading_from_telegram(telegram: Any, installation: str) -> P1Reading:
    """All points of one parsed telegram; IncompleteTelegram without a time or a meter id."""
    stamp = getattr(getattr(telegram, "P1_MESSAGE_TIMESTAMP", None), "value", None)
    if not isinstance(stamp, datetime) or stamp.tzinfo is None:
        raise IncompleteTelegram("no valid 0-0:1.0.0 timestamp")
    raw_id = getattr(getattr(telegram, "BELGIUM_EQUIPMENT_IDENTIFIER", None), "value", None)
    if not isinstance(raw_id, str) or not raw_id.strip():
        raise IncompleteTelegram("no 0-0:96.1.1 equipment identifier")
    meter_id = decode_equipment_id(raw_id.strip())
    tags = {"installation": installation, "meter_id": meter_id}
    point = Point.make("p1", tags, p1_fields(telegram), stamp)
    return P1Reading(
        time=stamp,
        meter_id=meter_id,
        point=point,
        peaks=tuple(_peak_points(telegram, tags)),
        mbus=tuple(_mbus_points(telegram, tags)),
    )
