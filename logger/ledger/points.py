"""Ledger rows as Points, and day points read back as rows (to assemble a month). Pure.

Field names and definitions: docs/schema.md, "The energy ledger". Every point of a period always
carries the same set of bookkeeping fields (`estimated` as 0 or 1), so a recomputation that
overwrites it leaves nothing stale behind.
"""

from __future__ import annotations

from collections.abc import Mapping

from logger.core.point import Point
from logger.ledger.energy import GRID, Device, PeriodRow
from logger.ledger.periods import DAY, HOUR, MONTH, QUARTER
from logger.ledger.tariff import MonthPeak, self_consumption_pct, self_sufficiency_pct

ENERGY = "ledger_energy"
DEVICE = "ledger_device"
PEAK = "ledger_peak"
MEASUREMENTS = (ENERGY, DEVICE, PEAK)

# group -> field of ledger_energy (units: Wh -> kWh, l -> m³)
_ENERGY_FIELDS = {
    "import_t1": "import_t1_kwh",
    "import_t2": "import_t2_kwh",
    "export_t1": "export_t1_kwh",
    "export_t2": "export_t2_kwh",
    "solar": "solar_kwh",
    "battery_charged": "battery_charged_kwh",
    "battery_discharged": "battery_discharged_kwh",
    "car": "car_kwh",
    "gas": "gas_m3",
    "gas_kwh": "gas_kwh",  # from Fluvius only (its gas export in kWh): Wh -> kWh
    "water": "water_m3",
}
_DEVICE_FIELDS = {
    "solar": "energy_kwh",
    "car": "energy_kwh",
    "battery_charged": "charged_kwh",
    "battery_discharged": "discharged_kwh",
}
KIND_GROUPS = {
    "solar": ("solar",),
    "car": ("car",),
    "battery": ("battery_charged", "battery_discharged"),
}


def _k(units: int) -> float:
    return units / 1000


def energy_fields(row: PeriodRow) -> dict[str, float | None]:
    """The ledger_energy fields of one period, derived values included."""
    e = row.energy
    fields: dict[str, float | None] = {
        name: _k(e[group]) for group, name in _ENERGY_FIELDS.items() if group in e
    }
    imported = e.get("import_t1", 0) + e.get("import_t2", 0)
    exported = e.get("export_t1", 0) + e.get("export_t2", 0)
    consumption = (
        imported - exported + e.get("solar", 0)
        + e.get("battery_discharged", 0) - e.get("battery_charged", 0)
    )
    fields["import_kwh"] = _k(imported)
    fields["export_kwh"] = _k(exported)
    fields["consumption_kwh"] = _k(consumption)
    fields["home_kwh"] = _k(consumption - e.get("car", 0))
    if row.kind == QUARTER:
        fields["demand_w"] = row.demand_w
    if row.kind in (DAY, MONTH):
        fields["peak_demand_w"] = row.peak_w
        fields["peak_start_s"] = row.peak_start
    if row.kind in (HOUR, DAY, MONTH):
        if "solar" in e:
            fields["self_consumption_pct"] = self_consumption_pct(e["solar"], exported)
        fields["self_sufficiency_pct"] = self_sufficiency_pct(consumption, imported)
    if row.kind == MONTH:
        fields["days"] = row.days
    fields["estimated"] = row.estimated
    fields["coverage_pct"] = row.coverage_pct
    fields["readings"] = row.readings
    fields["resets"] = row.resets
    fields["profile_points"] = row.profile_points
    fields["fluvius_pct"] = row.fluvius_pct
    return fields


def row_points(row: PeriodRow, installation: str) -> list[Point]:
    """ledger_energy and the ledger_device points of one period."""
    tags = {"installation": installation, "period": row.kind}
    out = [Point.make(ENERGY, tags, energy_fields(row), row.start)]
    for (kind, device_id, localid), per in sorted(row.devices.items()):
        fields: dict[str, float | None] = {
            _DEVICE_FIELDS[group]: _k(units) for group, units in per.items()
        }
        fields["estimated"] = row.device_estimated.get((kind, device_id, localid), False)
        fields["coverage_pct"] = row.device_coverage.get((kind, device_id, localid), 100.0)
        dev_tags = {**tags, "kind": kind, "device_id": device_id, "localid": localid}
        out.append(Point.make(DEVICE, dev_tags, fields, row.start))
    return [p for p in out if p is not None]


def peak_point(peak: MonthPeak, installation: str) -> Point | None:
    fields = {
        "peak_w": peak.peak_w,
        "peak_start_s": peak.peak_start,
        "billed_w": peak.billed_w,
        "mean_12m_w": peak.mean_12m_w,
        "months_in_mean": peak.months_in_mean,
        "meter_peak_w": peak.meter_peak_w,
        "meter_peak_s": peak.meter_peak_s,
        "meter_diff_w": peak.meter_diff_w,
        "estimated": peak.estimated,
    }
    return Point.make(PEAK, {"installation": installation}, fields, peak.start)


def day_from_fields(
    start: int,
    end: int,
    fields: Mapping[str, float | None],
    devices: Mapping[Device, Mapping[str, float | None]],
) -> PeriodRow:
    """A day row from its stored ledger_energy (and ledger_device) fields."""
    row = PeriodRow(DAY, start, end)
    for group, name in _ENERGY_FIELDS.items():
        value = fields.get(name)
        if value is not None and (group in GRID or group not in _DEVICE_FIELDS):
            row.energy[group] = round(value * 1000)
    for dev, dev_fields in devices.items():
        per = row.devices.setdefault(dev, {})
        for group in KIND_GROUPS.get(dev[0], ()):
            value = dev_fields.get(_DEVICE_FIELDS[group])
            if value is not None:
                per[group] = round(value * 1000)
                row.energy[group] = row.energy.get(group, 0) + per[group]
        row.device_estimated[dev] = bool(dev_fields.get("estimated") or 0)
        row.device_coverage[dev] = float(dev_fields.get("coverage_pct") or 0.0)
    row.estimated = bool(fields.get("estimated") or 0)
    row.coverage_pct = float(fields.get("coverage_pct") or 0.0)
    row.readings = int(fields.get("readings") or 0)
    row.resets = int(fields.get("resets") or 0)
    row.profile_points = int(fields.get("profile_points") or 0)
    row.fluvius_pct = float(fields.get("fluvius_pct") or 0.0)
    peak = fields.get("peak_demand_w")
    row.peak_w = None if peak is None else float(peak)
    peak_start = fields.get("peak_start_s")
    row.peak_start = None if peak_start is None else int(peak_start)
    row.days = 1
    return row
