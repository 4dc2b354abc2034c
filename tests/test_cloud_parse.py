"""The cloud parsers: pure functions, payload in, samples/points out (no network)."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, date, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from logger.sources.cloud.history import BRUSSELS, day_bounds, history_points, parse_power_history
from logger.sources.cloud.paths import probe_paths
from logger.sources.cloud.realtime import installation_ids, summary_point

DAY = date(2026, 3, 7)
T0 = int(datetime(2026, 3, 7, 10, 0, tzinfo=BRUSSELS).timestamp())


def test_the_documented_shape():
    payload = {"data": [{"timestamp": "2026-03-07T10:00:00+01:00", "value": 1.234},
                        {"timestamp": "2026-03-07T10:05:00+01:00", "value": -0.5}],
               "status": "ok"}
    parsed = parse_power_history(payload, DAY)
    assert parsed.understood
    assert parsed.samples == {T0: 1234.0, T0 + 300: -500.0}


def test_variants_all_give_the_same_samples():
    expected = {T0: 1234.0, T0 + 300: -500.0}
    variants = [
        [{"timestamp": "2026-03-07T09:00:00Z", "value": 1.234},
         {"timestamp": "2026-03-07T09:05:00Z", "value": -0.5}],
        {"data": {"unit": "kW", "values": [{"time": T0, "power": "1.234"},
                                           {"time": T0 + 300, "power": "-0.5"}]}},
        {"unit": "W", "entries": [{"date": "2026-03-07 10:00:00", "value": 1234},
                                  {"date": "2026-03-07 10:05:00", "value": -500}]},
        {"data": [[T0 * 1000, 1.234], [(T0 + 300) * 1000, -0.5]]},
        {"data": {"history": [{"ts": str(T0), "kw": 1.234}, {"ts": str(T0 + 300), "kw": -0.5}]}},
        {"2026-03-07T10:00:00": 1.234, "2026-03-07T10:05:00": -0.5},
    ]
    for payload in variants:
        parsed = parse_power_history(payload, DAY)
        assert parsed.understood, payload
        assert parsed.samples == expected, payload


def test_naive_times_in_the_autumn_repeated_hour_follow_the_order():
    day = date(2026, 10, 25)
    naive = ["01:30", "02:00", "02:30", "02:00", "02:30", "03:00"]
    payload = [{"timestamp": f"2026-10-25T{hm}:00", "value": 0.1} for hm in naive]
    times = sorted(parse_power_history(payload, day).samples)
    assert len(times) == 6
    assert [b - a for a, b in itertools.pairwise(times)] == [1800] * 5


def test_out_of_range_and_garbage_samples_are_refused_not_written():
    payload = [{"timestamp": "2026-03-07T10:00:00+01:00", "value": 150.0},  # 150 kW
               {"timestamp": "yesterday", "value": 1.0},
               {"timestamp": "2026-03-07T10:05:00+01:00", "value": "n/a"},
               {"timestamp": "2026-03-09T10:05:00+01:00", "value": 1.0},  # another day
               {"timestamp": "2026-03-07T10:10:00+01:00", "value": 2.0}]
    parsed = parse_power_history(payload, DAY)
    assert parsed.samples == {T0 + 600: 2000.0}
    assert len(parsed.rejected) == 4


def test_what_is_not_understood_is_said_so():
    for payload in ({"result": {"series": [{"x": 1, "y": 2}]}}, "garbage", 42,
                    [{"date": "2026-03-07", "value": 5.0}],  # a day total is not a sample
                    {"unit": "MWh", "values": [{"timestamp": T0, "value": 1}]}):
        parsed = parse_power_history(payload, DAY)
        assert not parsed.understood, payload
        assert parsed.samples == {}
        assert parsed.why


def test_an_empty_day_is_understood_and_empty():
    parsed = parse_power_history({"data": [], "status": "ok"}, DAY)
    assert parsed.understood and parsed.samples == {}


@settings(max_examples=300, deadline=None)
@given(st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(
        st.sampled_from(["data", "values", "timestamp", "time", "value", "power", "unit", "x"]),
        inner, max_size=5),
    max_leaves=30))
def test_the_parser_never_raises_and_never_returns_out_of_range_values(payload):
    parsed = parse_power_history(payload, DAY)
    start, end = day_bounds(DAY)
    for moment, watts in parsed.samples.items():
        assert abs(watts) < 100_000
        assert start - 3600 <= moment < end + 3600


def test_history_points_merge_devices_and_treat_absent_ones_as_zero():
    series = {"grid": {T0: 500.0, T0 + 300: -200.0}, "solar": {T0: 1000.0, T0 + 300: 1500.0},
              "battery": {T0: -300.0}}
    points = history_points("home", series, absent=["charger"])
    assert [p.time_s for p in points] == [T0, T0 + 300]
    first, second = (p.field_dict for p in points)
    assert first == {"grid_w": 500.0, "solar_w": 1000.0, "battery_w": -300.0, "car_w": 0.0,
                     "home_w": 1200.0}
    assert "battery_w" not in second and "home_w" not in second
    assert all(p.tag_dict == {"installation": "home", "source": "cloud"} for p in points)
    assert history_points("home", {"solar": {T0: 1.0}}, absent=[]) == []


def test_summary_power_in_kw_becomes_power_flow_in_w():
    payload = {"data": {"powers": {"grid": 0.5, "solar": 2.0, "home": 1.5, "battery": -0.3,
                                   "car": 0.0}, "extra": {}}, "status": "ok"}
    moment = datetime(2026, 3, 7, 9, 0, tzinfo=UTC)
    point = summary_point(payload, "home", moment)
    assert point is not None
    assert point.field_dict == {"grid_w": 500.0, "solar_w": 2000.0, "battery_w": -300.0,
                                "car_w": 0.0, "home_w": 2200.0}
    assert point.tag_dict["source"] == "cloud"
    assert summary_point({"data": {"powers": {"grid": 500}}}, "home", moment) is None  # 500 kW
    assert summary_point({"data": {}}, "home", moment) is None


def test_installation_ids_in_every_known_shape():
    assert installation_ids({"data": [{"id": "a", "name": "x"}], "status": "ok"}) == ["a"]
    assert installation_ids({"installations": [{"install_id": "b"}]}) == ["b"]
    assert installation_ids({"id": "c"}) == ["c"]
    assert installation_ids([]) == []


def test_probe_covers_history_and_statistics_with_unpadded_dates():
    paths = probe_paths("X", date(2026, 3, 7))
    assert "history/recent/X/grid/power/2026/3/7" in paths
    assert "history/recent/X/battery/energy/2026/3/7" in paths
    assert {"statistics/energy/X/daily", "statistics/energy/X/monthly",
            "statistics/energy/X/yearly"} <= set(paths)
    json.dumps(paths)
