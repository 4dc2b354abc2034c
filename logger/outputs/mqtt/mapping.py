"""Points (docs/schema.md) to entity values: which device, which entity, which number. Pure.

One source feeds the meter's entities: P1 (`p1`, `p1_mbus`) when `[p1]` is on, else the local
API's `meter`. Mixing them would let a counter step back and forth between the telegram's exact
register and the box's float32 copy of it, and Home Assistant reads any decrease of a
`total_increasing` sensor as a meter reset. Devices behind the box come from their own
measurements. A field without an entity (docs/schema.md has more) is simply not sent.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from logger.core.point import Point
from logger.outputs.mqtt.discovery import Device, box_device, meter_device
from logger.outputs.mqtt.entities import spec

BOX_KINDS = ("solar", "battery", "charger", "plug")
SUMS = {  # derived entity -> the registers it adds up (published only when all are known)
    "energy_import_kwh": ("energy_import_t1_kwh", "energy_import_t2_kwh"),
    "energy_export_kwh": ("energy_export_t1_kwh", "energy_export_t2_kwh"),
}


@dataclass(frozen=True, slots=True)
class Value:
    """One entity's value at its source time (epoch s): what the queue takes."""

    device: Device
    key: str
    value: float
    at: int


def meter_measurements(p1_enabled: bool) -> frozenset[str]:
    """The measurements that feed the meter's entities (see the module doc)."""
    return frozenset({"p1", "p1_mbus"}) if p1_enabled else frozenset({"meter"})


def values(point: Point, meter_from: frozenset[str]) -> Iterator[Value]:
    """The entity values one point carries."""
    tags = point.tag_dict
    if point.measurement in meter_from:
        meter_id = tags.get("meter_id")
        if meter_id:
            yield from _meter_values(point, meter_device(meter_id))
    elif point.measurement in BOX_KINDS:
        device_id = tags.get("device_id")
        if device_id:
            kind = point.measurement
            localid = tags.get("localid") if kind in ("solar", "battery") else None
            yield from _known(kind, box_device(kind, device_id, localid), point)


def _known(kind: str, device: Device, point: Point) -> Iterator[Value]:
    for key, value in point.fields:
        if spec(kind, key) is not None:
            yield Value(device, key, value, point.time_s)


def _meter_values(point: Point, device: Device) -> Iterator[Value]:
    if point.measurement == "p1_mbus":
        kind = point.tag_dict.get("kind")
        value = point.field_dict.get("value_m3")
        if kind in ("gas", "water") and value is not None:
            yield Value(device, f"{kind}_m3", value, point.time_s)
        return
    fields = point.field_dict
    yield from _known("meter", device, point)
    if "power_import_w" in fields and "power_export_w" in fields:
        yield Value(device, "grid_power_w", fields["power_import_w"] - fields["power_export_w"],
                    point.time_s)
    for key, parts in SUMS.items():
        if all(part in fields for part in parts):
            # Each register has 3 decimals (Wh); their float sum is rounded back to them.
            yield Value(device, key, round(sum(fields[p] for p in parts), 3), point.time_s)


def meter_of(point: Point) -> Device | None:
    meter_id = point.tag_dict.get("meter_id")
    return meter_device(meter_id) if meter_id else None
