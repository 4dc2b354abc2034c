"""The local API's payloads (real samples from the reference) turned into points."""

import logging
from datetime import UTC, datetime

from local_samples import BATTERY_SAMPLE, METER_SAMPLE, SOLAR_SAMPLE

from logger.core.point import Point
from logger.core.problems import Problems
from logger.sources.local.collector import (
    device_points,
    grid_power_w,
    meter_fields,
    power_flow_point,
)
from logger.sources.local.parse import generic_fields

NOW = datetime(2025, 5, 18, 19, 14, 35, tzinfo=UTC)


def problems():
    return Problems(logging.getLogger("test"))


def test_meter_sample_becomes_clean_fields_in_watts_and_kwh():
    fields = {k: v for k, v in meter_fields(METER_SAMPLE).items() if v is not None}
    assert fields == {
        "power_import_w": 2799.0,
        "power_export_w": 0.0,
        "energy_import_t1_kwh": 14808.846,
        "energy_import_t2_kwh": 19642.893,
        "energy_export_t1_kwh": 12128.643,
        "energy_export_t2_kwh": 4594.657,
        "voltage_l1_v": 232.5,
        "voltage_l3_v": 232.8,
        "gas_m3": 3986.686,
        "captar_avg_w": 2803.0,
        "captar_month_max_w": 3303.0,
    }


def test_an_absent_phase_voltage_and_water_meter_are_not_written():
    fields = meter_fields(METER_SAMPLE)
    assert fields["voltage_l2_v"] is None
    assert fields["water_m3"] is None


def test_grid_power_is_import_minus_export():
    assert grid_power_w(METER_SAMPLE) == 2799.0
    assert grid_power_w({"power": {"in": 0, "out": "1.5"}}) == -1500.0
    assert grid_power_w({}) is None


def test_solar_sample_tags_and_fields():
    [point] = device_points("solar", SOLAR_SAMPLE, "home", NOW)
    assert point.measurement == "solar"
    assert point.tag_dict == {"installation": "home", "device_id": "xxxxxxxxxx", "localid": "A01"}
    assert point.field_dict == {"power_w": 10.0, "energy_kwh": 954.5, "fault": 0.0,
                                "direct_timeout": 0.0}
    assert point.time == NOW


def test_battery_sample_fields():
    [point] = device_points("battery", BATTERY_SAMPLE, "home", NOW)
    assert point.field_dict == {
        "power_w": 0.0, "energy_charged_kwh": 506.2, "energy_discharged_kwh": 504.8,
        "voltage_v": 50.6, "soc_pct": 10.0, "fault": 0.0, "direct_timeout": 0.0,
    }


def test_two_inverters_with_one_id_stay_two_series():
    devices = [dict(SOLAR_SAMPLE[0]), dict(SOLAR_SAMPLE[0], localid="T01", power=1.0)]
    points = device_points("solar", devices, "home", NOW)
    assert len({p.identity for p in points}) == 2


def test_a_device_without_any_identity_is_skipped_and_counted():
    counter = problems()
    assert device_points("solar", [{"power": 1.0}], "home", NOW, counter) == []
    assert counter.counts["local_solar_no_id"] == 1


def test_charger_keeps_every_numeric_and_boolean_value_but_not_strings():
    charger = {"id": "c1", "power": 7.4, "soc": 55, "temperature": 28.6, "max_current": 16,
               "state": "charging", "busy": True, "three_phase": "true"}
    assert generic_fields(charger) == {
        "power_w": 7400.0, "soc_pct": 55.0, "temperature_c": 28.6, "max_current_a": 16.0,
        "busy": 1.0, "three_phase": 1.0,
    }


def test_no_field_is_named_like_a_tag():
    """InfluxDB 3 refuses a line whose tag and field share a name."""
    plug = {"id": "p1", "power": 0.1, "installation": 3, "localid": 7, "device_id": 9}
    assert generic_fields(plug) == {"power_w": 100.0}


def test_power_flow_derives_home_only_when_every_term_is_known():
    full = power_flow_point("home", NOW, "local", 500.0, 2000.0, -300.0, 0.0)
    assert full.field_dict["home_w"] == 2200.0
    assert full.tag_dict == {"installation": "home", "source": "local"}
    partial = power_flow_point("home", NOW, "local", 500.0, None, -300.0, 0.0)
    assert "home_w" not in partial.field_dict
    assert isinstance(partial, Point)
