"""Home Assistant MQTT discovery, as pure functions: names, topics, payloads, state texts.

Device-based discovery, as Home Assistant documents it: one retained message per device on
`<discovery_prefix>/device/<object_id>/config` holding the device (`dev`), the origin (`o`:
who sent it), the shared options (the availability topic, QoS) and every entity as a
component of `cmps` with its `platform`. Ids are derived only from things that do not change
(the installation name, the device's own id, the entity key), so a restart or an upgrade
republishes the same ids and Home Assistant updates its entities instead of adding twins.

Topics (with the defaults):
  homeassistant/device/jullix_<inst>_<device>/config   discovery, retained
  jullix/<inst>/status                                 `online` / `offline` (the last will)
  jullix/<inst>/<device>/<entity>                      each entity's state, retained
  homeassistant/status                                 Home Assistant's birth message (read)
`<inst>` and `<device>` are slugs (`slug`): only `[a-z0-9_-]`, as Home Assistant requires.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from logger.outputs.mqtt.entities import BINARY_SENSOR, EntitySpec

ORIGIN_NAME = "jullix-logger"
_UNSAFE = re.compile(r"[^a-z0-9_-]")


def slug(text: str) -> str:
    """`text` as an id Home Assistant accepts (`[a-z0-9_-]`). A text that had to change
    (beyond lower case) gets 6 hex digits of its hash, so `a b` and `a_b` never collide;
    the same text always gives the same slug."""
    lowered = text.strip().lower()
    cleaned = _UNSAFE.sub("_", lowered) or "_"
    if cleaned == lowered:
        return cleaned
    return f"{cleaned}_{hashlib.sha1(text.encode()).hexdigest()[:6]}"


@dataclass(frozen=True, slots=True)
class Device:
    """One Home Assistant device: a physical thing behind the box, or the logger itself."""

    kind: str  # a key of entities.KINDS
    key: str  # unique within the installation, already a slug: "meter_1sag3101021605"
    name: str
    model: str
    serial: str | None = None


def logger_device(installation: str) -> Device:
    return Device("logger", "logger", f"Jullix logger {installation}", ORIGIN_NAME)


def meter_device(meter_id: str) -> Device:
    return Device("meter", f"meter_{slug(meter_id)}", "Digital meter",
                  "Belgian digital meter (P1 / Jullix)", meter_id)


def box_device(kind: str, device_id: str, localid: str | None = None) -> Device:
    """A solar inverter or battery (keyed by id and localid: one id can carry two inverters,
    A01 and T01), a charger or a plug."""
    ident = device_id if localid is None or localid == device_id else f"{device_id}_{localid}"
    label = {"solar": "Solar inverter", "battery": "Battery", "charger": "EV charger",
             "plug": "Smart plug"}[kind]
    suffix = f" {localid}" if localid else f" {device_id}"
    return Device(kind, f"{kind}_{slug(ident)}", label + suffix, f"Jullix {kind}", device_id)


class Naming:
    """The topics and ids of one installation's messages."""

    def __init__(self, installation: str, topic_prefix: str = "jullix",
                 discovery_prefix: str = "homeassistant") -> None:
        self.installation = installation
        self.inst = slug(installation)
        self.topic_prefix = topic_prefix
        self.discovery_prefix = discovery_prefix
        self.availability = f"{topic_prefix}/{self.inst}/status"
        self.birth = f"{discovery_prefix}/status"
        self.logger = logger_device(installation)

    def object_id(self, device: Device) -> str:
        return f"jullix_{self.inst}_{device.key}"

    def discovery_topic(self, device: Device) -> str:
        return f"{self.discovery_prefix}/device/{self.object_id(device)}/config"

    def state_topic(self, device: Device, key: str) -> str:
        return f"{self.topic_prefix}/{self.inst}/{device.key}/{key}"

    def unique_id(self, device: Device, key: str) -> str:
        return f"{self.object_id(device)}_{key}"


def component(naming: Naming, device: Device, spec: EntitySpec) -> dict[str, Any]:
    """One entry of `cmps`: the entity's platform, ids, topic, classes and unit."""
    config: dict[str, Any] = {
        "platform": spec.platform,
        "unique_id": naming.unique_id(device, spec.key),
        "name": spec.name,
        "state_topic": naming.state_topic(device, spec.key),
    }
    optional = {
        "device_class": spec.device_class,
        "state_class": spec.state_class,
        "unit_of_measurement": spec.unit,
        "suggested_display_precision": spec.precision,
        "entity_category": "diagnostic" if spec.diagnostic else None,
        "options": list(spec.options) or None,
        "icon": spec.icon,
    }
    config.update({k: v for k, v in optional.items() if v is not None})
    return config


def device_config(naming: Naming, device: Device, specs: Iterable[EntitySpec],
                  version: str) -> dict[str, Any]:
    """The discovery payload of one device with the given entities (`cmps` keyed by entity
    key, in a stable order); the physical devices are linked to the logger (`via_device`)."""
    dev: dict[str, Any] = {
        "identifiers": [naming.object_id(device)],
        "name": device.name,
        "manufacturer": "Jullix" if device.kind != "logger" else "jullix-logger",
        "model": device.model,
    }
    if device.serial:
        dev["serial_number"] = device.serial
    if device.kind == "logger":
        dev["sw_version"] = version
    else:
        dev["via_device"] = naming.object_id(naming.logger)
    return {
        "dev": dev,
        "o": {"name": ORIGIN_NAME, "sw_version": version},
        "availability_topic": naming.availability,
        "qos": 1,
        "cmps": {spec.key: component(naming, device, spec)
                 for spec in sorted(specs, key=lambda s: s.key)},
    }


def state_text(spec: EntitySpec, value: float) -> str | None:
    """The state payload of a value, or None when it cannot be one: binary sensors `ON`/`OFF`,
    an enum's n-th option for the value n (tariff 1 = `T1`), numbers with the spec's decimals
    (a register's resolution, so a kWh register is sent to the Wh)."""
    if not math.isfinite(value):
        return None
    if spec.platform == BINARY_SENSOR:
        return "ON" if value else "OFF"
    if spec.options:
        index = int(value)
        return spec.options[index - 1] if index == value and 1 <= index <= len(spec.options) \
            else None
    if spec.precision is None:
        return repr(int(value)) if value == int(value) else repr(value)
    return f"{round(value, spec.precision) + 0.0:.{spec.precision}f}"
