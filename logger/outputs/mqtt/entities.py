"""What Home Assistant gets per device: one `EntitySpec` per entity, as plain data.

The classes and units follow Home Assistant's sensor rules (a `device_class` allows only some
units and state classes: energy in kWh with `total_increasing` is what the Energy dashboard takes;
power in W is a `measurement`; `monetary` is `total` or none). The `key` is the entity's part of
its `unique_id` and of its state topic, so it must never change once released: renaming a key
would give every user a second, empty entity. Field keys match docs/schema.md where the value
is a field; derived values (sums, the 12-month mean, net grid power) have keys of their own.
"""

from __future__ import annotations

from dataclasses import dataclass

SENSOR = "sensor"
BINARY_SENSOR = "binary_sensor"
PHASES = (1, 2, 3)


@dataclass(frozen=True, slots=True)
class EntitySpec:
    """One Home Assistant entity of a device."""

    key: str
    name: str
    device_class: str | None = None
    state_class: str | None = None
    unit: str | None = None
    precision: int | None = None  # decimals shown, and sent (a register's resolution)
    platform: str = SENSOR
    diagnostic: bool = False
    options: tuple[str, ...] = ()  # the states of an `enum` sensor
    icon: str | None = None

    @property
    def is_total(self) -> bool:
        return self.state_class in ("total", "total_increasing")


def _power(key: str, name: str) -> EntitySpec:
    return EntitySpec(key, name, "power", "measurement", "W", 0)


def _energy(key: str, name: str, precision: int = 3) -> EntitySpec:
    return EntitySpec(key, name, "energy", "total_increasing", "kWh", precision)


def _voltage(key: str, name: str) -> EntitySpec:
    return EntitySpec(key, name, "voltage", "measurement", "V", 1)


def _current(key: str, name: str) -> EntitySpec:
    return EntitySpec(key, name, "current", "measurement", "A", 2)


METER: tuple[EntitySpec, ...] = (
    _power("power_import_w", "Power import"),
    _power("power_export_w", "Power export"),
    _power("grid_power_w", "Grid power"),  # + import, - export (HA's grid power slot)
    *(_power(f"power_import_l{n}_w", f"Power import L{n}") for n in PHASES),
    *(_power(f"power_export_l{n}_w", f"Power export L{n}") for n in PHASES),
    *(_voltage(f"voltage_l{n}_v", f"Voltage L{n}") for n in PHASES),
    *(_current(f"current_l{n}_a", f"Current L{n}") for n in PHASES),
    _energy("energy_import_t1_kwh", "Energy import tariff 1 (day)"),
    _energy("energy_import_t2_kwh", "Energy import tariff 2 (night)"),
    _energy("energy_export_t1_kwh", "Energy export tariff 1 (day)"),
    _energy("energy_export_t2_kwh", "Energy export tariff 2 (night)"),
    _energy("energy_import_kwh", "Energy import"),  # tariff 1 + tariff 2
    _energy("energy_export_kwh", "Energy export"),
    EntitySpec("gas_m3", "Gas", "gas", "total_increasing", "m³", 3),
    EntitySpec("water_m3", "Water", "water", "total_increasing", "m³", 3),
    _power("captar_avg_w", "Quarter-hour average demand"),
    _power("captar_month_max_w", "Capacity peak this month"),
    _power("captar_mean_12m_w", "Capacity peak 12-month mean"),
    EntitySpec("tariff", "Tariff", "enum", options=("T1", "T2"), icon="mdi:clock-outline"),
)

SOLAR: tuple[EntitySpec, ...] = (
    _power("power_w", "Power"),
    _energy("energy_kwh", "Energy produced", precision=1),
    EntitySpec("fault", "Fault code", diagnostic=True, icon="mdi:alert-circle-outline"),
)

BATTERY: tuple[EntitySpec, ...] = (
    _power("power_w", "Power"),  # + discharging, - charging
    EntitySpec("soc_pct", "State of charge", "battery", "measurement", "%", 0),
    _energy("energy_charged_kwh", "Energy charged", precision=1),
    _energy("energy_discharged_kwh", "Energy discharged", precision=1),
    EntitySpec("voltage_v", "Voltage", "voltage", "measurement", "V", 1, diagnostic=True),
    EntitySpec("fault", "Fault code", diagnostic=True, icon="mdi:alert-circle-outline"),
)

CHARGER: tuple[EntitySpec, ...] = (
    _power("power_w", "Charging power"),
    EntitySpec("busy", "Car connected", "plug", platform=BINARY_SENSOR),
    EntitySpec("soc_pct", "Car state of charge", "battery", "measurement", "%", 0),
    _energy("energy_kwh", "Energy charged"),
    EntitySpec("temperature_c", "Temperature", "temperature", "measurement", "°C", 1,
               diagnostic=True),
    EntitySpec("max_current_a", "Maximum current", "current", "measurement", "A", 0,
               diagnostic=True),
)

PLUG: tuple[EntitySpec, ...] = (
    _power("power_w", "Power"),
    EntitySpec("plug_state", "Switched on", "power", platform=BINARY_SENSOR),
    _energy("energy_kwh", "Energy"),
)

LOGGER: tuple[EntitySpec, ...] = (
    EntitySpec("status", "Status", "connectivity", platform=BINARY_SENSOR, diagnostic=True),
    EntitySpec("outbox_depth", "Outbox depth", None, "measurement", "points", 0,
               diagnostic=True, icon="mdi:tray-full"),
    EntitySpec("last_write_age_s", "Last InfluxDB write", "duration", "measurement", "s", 0,
               diagnostic=True),
    EntitySpec("dead_letters", "Dead letters", None, "measurement", "points", 0,
               diagnostic=True, icon="mdi:email-alert-outline"),
)

# Where the cost engine exists (logger/app/mqtt_job.py, `MqttJob.add_values`): money is
# `monetary` with an ISO 4217 currency and `total` (a sum that restarts each day/month).
COST: tuple[EntitySpec, ...] = (
    EntitySpec("cost_today_eur", "Cost today", "monetary", "total", "EUR", 2),
    EntitySpec("cost_month_eur", "Cost this month", "monetary", "total", "EUR", 2),
)

KINDS: dict[str, tuple[EntitySpec, ...]] = {
    "meter": METER,
    "solar": SOLAR,
    "battery": BATTERY,
    "charger": CHARGER,
    "plug": PLUG,
    "logger": LOGGER + COST,
}


def spec(kind: str, key: str) -> EntitySpec | None:
    """The entity `key` of a device kind, or None: a field without an entity is not sent."""
    return _BY_KEY.get((kind, key))


_BY_KEY = {(kind, s.key): s for kind, specs in KINDS.items() for s in specs}
