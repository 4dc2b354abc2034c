"""Home Assistant's MQTT discovery rules, written down independently of the code under test.

From Home Assistant's own documentation and source (home-assistant.io `mqtt.markdown`: device
discovery; home-assistant/core `homeassistant/components/sensor/const.py`: DEVICE_CLASS_UNITS
and DEVICE_CLASS_STATE_CLASSES; `binary_sensor/__init__.py`: BinarySensorDeviceClass), copied by
hand as plain tables for the classes an energy logger could use. `check_device_payload` applies
them to one discovery payload the way Home Assistant would judge it, and returns every problem.
"""

from __future__ import annotations

import re
from typing import Any

# sensor device class -> units Home Assistant accepts for it
ALLOWED_UNITS: dict[str, set[str]] = {
    "power": {"mW", "W", "kW", "MW", "GW", "TW"},
    "energy": {"J", "kJ", "MJ", "GJ", "mWh", "Wh", "kWh", "MWh", "GWh", "TWh",
               "cal", "kcal", "Mcal", "Gcal"},
    "voltage": {"V", "mV", "µV", "kV", "MV"},
    "current": {"A", "mA"},
    "gas": {"m³", "ft³", "CCF"},
    "water": {"m³", "L", "gal", "ft³", "CCF"},
    "battery": {"%"},
    "temperature": {"°C", "°F", "K"},
    "duration": {"d", "h", "min", "s", "ms"},
    "monetary": {"EUR", "USD", "GBP", "CHF"},  # any ISO 4217 code; these are the ones we'd use
}
# sensor device class -> state classes allowed (an empty set: none may be given)
ALLOWED_STATE_CLASSES: dict[str, set[str]] = {
    "power": {"measurement"},
    "energy": {"total", "total_increasing"},
    "voltage": {"measurement"},
    "current": {"measurement"},
    "gas": {"total", "total_increasing"},
    "water": {"total", "total_increasing"},
    "battery": {"measurement"},
    "temperature": {"measurement"},
    "duration": {"measurement", "total", "total_increasing"},
    "monetary": {"total"},  # or no state class at all
    "enum": set(),
}
STATE_CLASSES = {"measurement", "total", "total_increasing"}
BINARY_SENSOR_CLASSES = {
    "battery", "battery_charging", "carbon_monoxide", "cold", "connectivity", "door",
    "garage_door", "gas", "heat", "light", "lock", "moisture", "motion", "moving", "occupancy",
    "opening", "plug", "power", "presence", "problem", "running", "safety", "smoke", "sound",
    "tamper", "update", "vibration", "window",
}
PLATFORMS = {"sensor", "binary_sensor"}
ID_CHARS = re.compile(r"^[a-zA-Z0-9_-]+$")  # node_id / object_id in a discovery topic
ENTITY_CATEGORIES = {"diagnostic", "config"}  # config is for settable entities only


def check_device_payload(topic: str, payload: dict[str, Any], prefix: str = "homeassistant"
                         ) -> list[str]:
    """Every way this device discovery message breaks Home Assistant's rules."""
    problems: list[str] = []
    parts = topic.split("/")
    if len(parts) != 4 or parts[0] != prefix or parts[1] != "device" or parts[3] != "config":
        problems.append(f"{topic}: not <prefix>/device/<object_id>/config")
    elif not ID_CHARS.match(parts[2]):
        problems.append(f"{topic}: object id {parts[2]!r} has characters outside [a-zA-Z0-9_-]")
    dev, origin, cmps = payload.get("dev"), payload.get("o"), payload.get("cmps")
    if not isinstance(dev, dict) or not dev.get("identifiers") or not dev.get("name"):
        problems.append(f"{topic}: dev needs identifiers and a name")
    if not isinstance(origin, dict) or not origin.get("name"):
        problems.append(f"{topic}: o (origin) needs a name")
    if not isinstance(cmps, dict) or not cmps:
        return [*problems, f"{topic}: no cmps"]
    shared_availability = payload.get("availability_topic") or payload.get("availability")
    for cid, component in cmps.items():
        where = f"{topic} cmps.{cid}"
        problems += [f"{where}: {p}" for p in _check_component(component)]
        if not (shared_availability or component.get("availability_topic")
                or component.get("availability")):
            problems.append(f"{where}: no availability topic")
    return problems


def _check_component(c: dict[str, Any]) -> list[str]:
    problems = []
    platform = c.get("platform", c.get("p"))
    if platform not in PLATFORMS:
        problems.append(f"platform {platform!r} is not one we publish")
    if not c.get("unique_id"):
        problems.append("no unique_id")
    if not c.get("state_topic"):
        problems.append("no state_topic")
    category = c.get("entity_category")
    if category is not None and category not in ENTITY_CATEGORIES:
        problems.append(f"entity_category {category!r}")
    precision = c.get("suggested_display_precision")
    if precision is not None and (not isinstance(precision, int) or precision < 0):
        problems.append(f"suggested_display_precision {precision!r}")
    device_class, state_class = c.get("device_class"), c.get("state_class")
    unit = c.get("unit_of_measurement")
    if platform == "binary_sensor":
        if device_class is not None and device_class not in BINARY_SENSOR_CLASSES:
            problems.append(f"binary sensor device_class {device_class!r}")
        if state_class or unit:
            problems.append("a binary sensor has no state_class or unit")
        return problems
    if state_class is not None and state_class not in STATE_CLASSES:
        problems.append(f"state_class {state_class!r}")
    if device_class == "enum":
        if unit is not None or state_class is not None or not c.get("options"):
            problems.append("an enum sensor has options and neither unit nor state_class")
        return problems
    if device_class is not None:
        if device_class not in ALLOWED_UNITS:
            problems.append(f"device_class {device_class!r} not in the table")
            return problems
        if unit not in ALLOWED_UNITS[device_class]:
            problems.append(f"unit {unit!r} not allowed for device_class {device_class}")
        if state_class is not None and state_class not in ALLOWED_STATE_CLASSES[device_class]:
            problems.append(f"state_class {state_class} not allowed for {device_class}")
    if state_class in ("total", "total_increasing") and unit is None:
        problems.append("a total without a unit")
    return problems
