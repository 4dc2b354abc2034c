"""Which raw series feed which ledger counter, and the limits that tell a reset from energy.

The electricity registers come from `p1` (1 Wh resolution) or the local `meter` (float32
registers); devices from their lifetime counters; gas and water from the M-Bus (`p1_mbus`) or the
local `meter`. The power profile that distributes a gap's energy is `power_flow`. See
docs/schema.md, "The energy ledger".
"""

from __future__ import annotations

from dataclasses import dataclass, field

# A house connection carries at most ~100 kW (3 x 160 A): more is a reset or a glitch.
MAX_ELECTRIC_UNITS_PER_S = 100_000 / 3600  # Wh per second
MAX_VOLUME_UNITS_PER_S = 30_000 / 3600  # litres per second (30 m³/h: far above a house)
MBUS_GAP_S = 900.0  # M-Bus readings come every 5 minutes


@dataclass(frozen=True)
class SeriesSpec:
    """A raw measurement whose fields are lifetime counters (in kWh or m³: 3 decimals)."""

    measurement: str
    fields: dict[str, str]  # field -> ledger group
    group_by: tuple[str, ...] = ()
    device_kind: str | None = None  # per-device counters: (kind, device_id, localid)
    key_tag: str | None = None  # a change of this tag's value is a meter swap
    tags: dict[str, str] = field(default_factory=dict)
    max_units_per_s: float = MAX_ELECTRIC_UNITS_PER_S
    min_gap_s: float = 0.0


_GRID_FIELDS = {
    "energy_import_t1_kwh": "import_t1",
    "energy_import_t2_kwh": "import_t2",
    "energy_export_t1_kwh": "export_t1",
    "energy_export_t2_kwh": "export_t2",
}
GRID_P1 = SeriesSpec("p1", _GRID_FIELDS, ("meter_id",), key_tag="meter_id")
GRID_METER = SeriesSpec("meter", _GRID_FIELDS, ("meter_id",), key_tag="meter_id")

DEVICES = (
    SeriesSpec("solar", {"energy_kwh": "solar"}, ("device_id", "localid"), device_kind="solar"),
    SeriesSpec("battery", {"energy_charged_kwh": "battery_charged",
                           "energy_discharged_kwh": "battery_discharged"},
               ("device_id", "localid"), device_kind="battery"),
    SeriesSpec("charger", {"energy_kwh": "car"}, ("device_id", "localid"), device_kind="car"),
)

VOLUME_P1 = (
    SeriesSpec("p1_mbus", {"value_m3": "gas"}, tags={"kind": "gas"},
               max_units_per_s=MAX_VOLUME_UNITS_PER_S, min_gap_s=MBUS_GAP_S),
    SeriesSpec("p1_mbus", {"value_m3": "water"}, tags={"kind": "water"},
               max_units_per_s=MAX_VOLUME_UNITS_PER_S, min_gap_s=MBUS_GAP_S),
)
VOLUME_METER = (
    SeriesSpec("meter", {"gas_m3": "gas", "water_m3": "water"},
               max_units_per_s=MAX_VOLUME_UNITS_PER_S, min_gap_s=MBUS_GAP_S),
)

# The power profile across gaps: group -> (power_flow field, sign of the power that feeds it).
PROFILE_MEASUREMENT = "power_flow"
PROFILE = {
    "import_t1": ("grid_w", 1),
    "import_t2": ("grid_w", 1),
    "export_t1": ("grid_w", -1),
    "export_t2": ("grid_w", -1),
    "solar": ("solar_w", 1),
    "battery_discharged": ("battery_w", 1),
    "battery_charged": ("battery_w", -1),
    "car": ("car_w", 1),
}
PROFILE_FIELDS = ("grid_w", "solar_w", "battery_w", "car_w")
CLOUD_PROFILE_TAGS = {"source": "cloud"}


def grid_specs(source: str, p1_has_data: bool) -> tuple[SeriesSpec, tuple[SeriesSpec, ...]]:
    """(electricity registers, gas/water) for `[ledger] source` and whether P1 has data."""
    use_p1 = source == "p1" or (source == "auto" and p1_has_data)
    return (GRID_P1, VOLUME_P1) if use_p1 else (GRID_METER, VOLUME_METER)
