"""The ledger's pure rules: counter values at boundaries, resets, gaps, months, the capacity
tariff and the KPIs, each checked against a hand computation."""

from __future__ import annotations

from logger.ledger.counters import Readings, step_profile, track
from logger.ledger.energy import PeriodRow, combine_month
from logger.ledger.periods import DAY
from logger.ledger.tariff import month_peak, self_consumption_pct, self_sufficiency_pct

RATE = 100_000 / 3600


def readings(*pairs, key="M1"):
    r = Readings()
    for t, v in pairs:
        r.add(t, v, key)
    return r


def test_a_reading_on_the_boundary_is_exact_and_one_between_is_interpolated():
    r = readings((0, 1000), (900, 1100), (1790, 1190), (1810, 1210))
    tr = track(r, [0, 900, 1800], RATE, gap_s=60)
    assert tr.values == [0, 100, 200]  # 1190 + 20 * 10/20 = 1200
    assert tr.exact == [True, True, False]


def test_a_flat_counter_between_readings_is_exact():
    r = readings((0, 5), (850, 7), (950, 7))
    tr = track(r, [900], RATE, gap_s=60)
    assert tr.values == [2] and tr.exact == [True]


def test_a_gap_keeps_the_total_and_spreads_it_evenly_without_profile():
    r = readings((0, 0), (3600, 400))
    tr = track(r, [0, 900, 1800, 2700, 3600], RATE, gap_s=60)
    assert tr.values == [0, 100, 200, 300, 400]
    assert tr.exact == [True, False, False, False, True]
    assert tr.gaps == [(0, 3600)]


def test_a_gap_follows_the_power_profile_when_there_is_one():
    profile = step_profile([0, 1800], [0.0, 1000.0], hold_s=1800)  # nothing, then 1 kW
    r = readings((0, 0), (3600, 500))
    tr = track(r, [0, 1800, 2700, 3600], RATE, gap_s=60, profile=profile)
    assert tr.values == [0, 0, 250, 500]


def test_a_counter_going_backwards_or_another_meter_counts_nothing_and_is_reported():
    r = readings((0, 1000), (900, 1100))
    r.add(1000, 5, "M1")  # reset
    r.add(1800, 105, "M1")
    r.add(1900, 50_000, "M2")  # meter swap
    r.add(2700, 50_100, "M2")
    tr = track(r, [0, 900, 1800, 2700], RATE, gap_s=3600)
    assert tr.values == [0, 100, 200, 300]
    assert [b.reason for b in tr.breaks] == ["counter went backwards", "meter id M1 -> M2"]


def test_an_impossible_jump_is_a_break_not_energy():
    r = readings((0, 0), (10, 10_000_000), (900, 10_000_100))
    tr = track(r, [0, 900], RATE, gap_s=60)
    assert tr.values == [0, 100] and tr.breaks[0].reason == "jump larger than possible"


def test_float32_jitter_backwards_is_not_a_reset():
    r = readings((0, 1000), (5, 999), (900, 1100))
    tr = track(r, [0, 900], RATE, gap_s=60)
    assert tr.values == [0, 100] and tr.breaks == []


def test_boundaries_outside_the_readings_have_no_value():
    tr = track(readings((100, 0), (200, 5)), [0, 900], RATE, gap_s=60)
    assert tr.values == [None, None]


def test_a_month_is_the_sum_of_its_days_and_keeps_the_highest_quarter():
    d1 = PeriodRow(DAY, 0, 86400, {"import_t1": 1000}, peak_w=3000.0, peak_start=900,
                   readings=10)
    d2 = PeriodRow(DAY, 86400, 172800, {"import_t1": 2000}, estimated=True, peak_w=4000.0,
                   peak_start=87300, coverage_pct=50.0)
    month = combine_month([d1, d2], 0, 172800)
    assert month.energy == {"import_t1": 3000}
    assert (month.peak_w, month.peak_start, month.estimated) == (4000.0, 87300, True)
    assert month.coverage_pct == 75.0 and month.days == 2


def test_the_rolling_mean_floors_each_month_at_2_5_kw():
    earlier = {m: w for m, w in zip(range(11), [2000.0] * 5 + [4000.0] * 6, strict=True)}
    floored = {m: max(w, 2500.0) for m, w in earlier.items()}
    peak = month_peak(100, 3100.0, 50, floored, (3101.0, 49), False)
    assert peak.billed_w == 3100.0
    assert peak.mean_12m_w == round((3100 + 5 * 2500 + 6 * 4000) / 12, 3)
    assert peak.months_in_mean == 12
    assert peak.meter_diff_w == -1.0 and not peak.disagrees
    assert month_peak(100, 3100.0, 50, {}, (3000.0, None), False).disagrees
    assert month_peak(100, 1200.0, 50, {}, None, False).billed_w == 2500.0


def test_kpis_stay_within_0_and_100_with_a_battery_charged_from_the_grid():
    # Grid-charged battery: import 10 kWh, consumption only 4 kWh (6 kWh parked in the battery).
    assert self_sufficiency_pct(consumption=4.0, imported=10.0) == 0.0
    # Battery discharging into the grid: export larger than the solar production.
    assert self_consumption_pct(solar=2.0, export=5.0) == 0.0
    assert self_sufficiency_pct(consumption=10.0, imported=2.5) == 75.0
    assert self_consumption_pct(solar=8.0, export=2.0) == 75.0
    assert self_consumption_pct(solar=0.0, export=1.0) is None


def test_status_shows_the_ledger_and_warns_about_a_peak_the_meter_disagrees_with(tmp_path):
    import io

    from logger.cli.status import print_status
    from logger.config import Settings
    from logger.outbox import Outbox, keys

    outbox = Outbox(tmp_path / "outbox.sqlite")
    outbox.set_meta(keys.LEDGER_LAST_RUN, "2026-11-26T12:00:00+00:00: 1 day(s), 120 points")
    outbox.set_meta(keys.LEDGER_PEAK_MISMATCH, "2026-11: ledger peak 4000 W, meter 3000 W")
    outbox.set_meta(keys.LEDGER_LAST_RESET, "2026-11-20 10:00: import_t1 meter id A -> B")
    outbox.count(keys.LEDGER_PEAK_MISMATCHES)
    outbox.count(keys.LEDGER_COUNTER_RESET, 2)
    outbox.close()
    out = io.StringIO()
    print_status(Settings(influx={"url": "http://127.0.0.1:9"},
                          outbox={"path": tmp_path / "outbox.sqlite"}), out)
    text = out.getvalue()
    # The features block: the ledger on, its last update in Belgian time and what it did.
    assert "  ledger      on: last update 2026-11-26 13:00" in text
    assert ": 1 day(s), 120 points" in text
    assert "2 counter reset(s)/meter swap(s); newest: 2026-11-20 10:00" in text
    assert "WARNING     capacity peak disagrees with the meter's register (1x)" in text
