"""The ledger's rules for Fluvius quarter-hours (logger/ledger/fluvius.py, reconcile.py), pure:
which source each quarter takes, hours and days as sums, gas, the reconciliation. Values by hand.
"""

from __future__ import annotations

from datetime import date

from logger.core import fluvius_schema as schema
from logger.core.belgian_time import day_bounds
from logger.ledger.energy import PeriodRow
from logger.ledger.fluvius import (
    FluviusHour,
    FluviusQuarter,
    FluviusSpan,
    merge,
    span_from_rows,
)
from logger.ledger.periods import DAY, HOUR, QUARTER
from logger.ledger.points import energy_fields
from logger.ledger.reconcile import of_day, of_month, points

SPRING = date(2027, 3, 28)  # 23 hours: 02:00 CET jumps to 03:00 CEST
ORDINARY = date(2027, 4, 6)


def fq(imp: int, exp: int = 0, night: bool = True, estimated: bool = False) -> FluviusQuarter:
    tariff = "t2" if night else "t1"
    return FluviusQuarter({f"import_{tariff}": imp, f"export_{tariff}": exp}, estimated)


def logger_quarter(start: int, imp: int, coverage: float = 100.0, estimated: bool = False,
                   resets: int = 0) -> PeriodRow:
    row = PeriodRow(QUARTER, start, start + 900, {"import_t1": imp, "import_t2": 0,
                                                    "export_t1": 0, "export_t2": 0,
                                                    "solar": 7})
    row.coverage_pct, row.estimated, row.resets, row.readings = coverage, estimated, resets, 3
    return row


def test_a_23_hour_day_only_fluvius_has_becomes_92_quarters_23_hours_and_a_day():
    start, end = day_bounds(SPRING)
    quarters = list(range(start, end, 900))
    assert len(quarters) == 92
    span = FluviusSpan({t: fq(100 + i, i % 3, estimated=i == 10)
                        for i, t in enumerate(quarters)})
    merged = merge([], [], [], span, start, end, start)
    assert len(merged.quarters) == 92 and len(merged.hours) == 23 and len(merged.days) == 1
    day = merged.days[0]
    assert day.energy["import_t2"] == 100 * 92 + 91 * 92 // 2  # 100 + 101 + ... + 191 Wh
    assert day.energy["export_t2"] == 30 * (0 + 1 + 2) + 0 + 1  # i % 3 over 92 quarters
    assert day.energy["import_t1"] == 0 and day.fluvius_pct == 100.0
    assert day.coverage_pct == 0.0 and day.estimated  # one quarter "Geschat"
    assert (day.peak_w, day.peak_start) == (191 * 4.0, quarters[-1])
    assert merged.hours[0].energy["import_t2"] == 100 + 101 + 102 + 103
    assert not merged.hours[0].estimated and merged.hours[2].estimated  # quarter 10 is in hour 2
    assert merged.compared == []
    fields = energy_fields(day)
    assert fields["fluvius_pct"] == 100.0 and fields["import_kwh"] == day.energy["import_t2"] / 1000


def test_each_quarter_takes_the_logger_when_it_has_its_own_value_else_fluvius():
    start, end = day_bounds(ORDINARY)
    q = list(range(start, start + 4 * 900, 900))
    own_exact = logger_quarter(q[0], 50)
    own_local_meter = logger_quarter(q[1], 51, estimated=True)  # interpolated, no gap inside
    in_a_gap = logger_quarter(q[2], 52, coverage=40.0, estimated=True)
    with_a_reset = logger_quarter(q[3], 0, resets=1)
    hour = PeriodRow(HOUR, start, start + 3600, {"import_t1": 153, "solar": 28,
                                                 "gas": 90, "water": 5})
    span = FluviusSpan({t: fq(60 + i, night=False) for i, t in enumerate(q)})
    merged = merge([own_exact, own_local_meter, in_a_gap, with_a_reset], [hour], [], span,
                   start, end, start)
    got = [(r.energy["import_t1"], r.fluvius_pct) for r in merged.quarters]
    assert got == [(50, 0.0), (51, 0.0), (62, 100.0), (63, 100.0)]
    assert merged.quarters[2].energy["solar"] == 7  # the logger's devices stay
    assert merged.quarters[2].coverage_pct == 40.0  # what the logger's readings cover
    [mixed] = merged.hours
    assert mixed.energy["import_t1"] == 50 + 51 + 62 + 63 and mixed.fluvius_pct == 50.0
    assert (mixed.energy["solar"], mixed.energy["water"]) == (28, 5)  # the logger's hour
    assert mixed.estimated  # a quarter of it is the logger's interpolation
    assert merged.days == []  # a day needs all its quarters
    assert merged.compared == []  # the running day: compared once it is complete


def test_a_day_the_logger_has_whole_but_with_a_gap_sums_its_quarters_fluvius_filled():
    start, end = day_bounds(ORDINARY)
    quarters = [logger_quarter(t, 40) for t in range(start, end, 900)]
    quarters[10] = logger_quarter(start + 9000, 40, coverage=40.0, estimated=True)
    day = PeriodRow(DAY, start, end, {"import_t1": 40 * 96, "import_t2": 0, "export_t1": 0,
                                      "export_t2": 0, "water": 12})
    day.peak_w = 160.0
    span = FluviusSpan({start + 9000: fq(300, 2, night=False)})  # the gap's quarter: 300 Wh
    [merged] = merge(quarters, [], [day], span, start, end, start).days
    assert merged.energy["import_t1"] == 40 * 95 + 300 and merged.energy["export_t1"] == 2
    assert merged.energy["water"] == 12  # the logger's own
    assert merged.fluvius_pct == round(100 / 96, 3)
    assert (merged.peak_w, merged.peak_start) == (1200.0, start + 9000)


def test_a_quarter_fluvius_lacks_or_marks_missing_keeps_the_loggers_interpolation():
    start, end = day_bounds(ORDINARY)
    gap = logger_quarter(start, 52, coverage=0.0, estimated=True)
    only_offtake = FluviusQuarter({"import_t1": 70})
    missing = FluviusQuarter({"import_t1": 70, "export_t1": 0}, missing=True)
    for quarter in (only_offtake, missing):
        merged = merge([gap], [], [], FluviusSpan({start: quarter}), start, end, start)
        assert [(r.energy["import_t1"], r.fluvius_pct) for r in merged.quarters] == [(52, 0.0)]


def test_a_complete_day_of_both_is_compared_and_the_logger_wins():
    start, end = day_bounds(ORDINARY)
    quarters = [logger_quarter(t, 40) for t in range(start, end, 900)]
    day = PeriodRow(DAY, start, end, {"import_t1": 40 * 96, "import_t2": 0, "export_t1": 0,
                                      "export_t2": 0})
    span = FluviusSpan({t: fq(40, night=False) for t in range(start, end, 900)})
    span.quarters[start + 900] = fq(45, night=False)  # 5 Wh more in Fluvius
    span.quarters[start + 1800] = fq(41, night=False)  # 1 Wh: within the resolution
    merged = merge(quarters, [], [day], span, start, end, start)
    assert merged.days == [day]  # unchanged: every quarter is the logger's own
    rec = of_day(start, merged.compared)
    assert rec is not None and rec.compared == 96
    assert rec.diffs == {"import_t1": -6, "import_t2": 0, "export_t1": 0, "export_t2": 0}
    assert [q.start for q in rec.differing] == [start + 900] and rec.max_diff_wh == 5
    out = points(rec, "home", stale=[start + 2700, start + 900])
    lines = [p.to_line() for p in out]
    assert lines[0].startswith("ledger_reconciliation,installation=home,period=1d ")
    assert "import_t1_diff_kwh=-0.006" in lines[0] and "differing_quarters=1.0" in lines[0]
    assert len(lines) == 3  # the day, the differing quarter, the stale one (zeros)
    assert lines[1].endswith(f" {start + 900}") and "max_diff_wh=5.0" in lines[1]
    assert lines[2].endswith(f" {start + 2700}") and "differing_quarters=0.0" in lines[2]
    month = of_month(start, [rec, rec])
    assert month is not None and (month.compared, month.differing_count) == (192, 2)
    assert month.diffs["import_t1"] == -12


def test_gas_hours_from_fluvius_only_where_the_logger_has_no_reading_of_its_own():
    start, end = day_bounds(ORDINARY)
    quarters = [logger_quarter(t, 10) for t in range(start, end, 900)]
    hours = [PeriodRow(HOUR, h, h + 3600, {"import_t1": 40, "gas": 100})
             for h in range(start, end, 3600)]
    del hours[5].energy["gas"]  # no gas reading of the logger's own in that hour
    gas_gap = (start + 3600 + 60, start + 2 * 3600 + 30)  # M-Bus readings missing in hour 1..2
    span = FluviusSpan(gas={h: FluviusHour(litres=80, wh=900) for h in range(start, end, 3600)})
    merged = merge(quarters, hours, [PeriodRow(DAY, start, end, {"import_t1": 960, "gas": 2400})],
                   span, start, end, start, gas_gaps=[gas_gap])
    assert [h.energy["gas"] for h in merged.hours[:7]] == [100, 80, 80, 100, 100, 80, 100]
    assert all(h.energy["gas_kwh"] == 900 for h in merged.hours)
    day = merged.days[0]
    assert day.energy["gas"] == 100 * 21 + 80 * 3 and day.energy["gas_kwh"] == 900 * 24


def test_rows_of_two_connections_use_the_one_with_more_quarters():
    t = day_bounds(ORDINARY)[0]
    rows = [
        ("A", schema.IMPORT_T1, t, 0.05, schema.VALIDATED, None, None),
        ("A", schema.EXPORT_T1, t, 0.0, schema.VALIDATED, None, None),
        ("A", schema.IMPORT_T1, t + 900, None, schema.MISSING, None, None),
        ("B", schema.IMPORT_T1, t, 0.9, schema.ESTIMATED, None, None),
        ("G", schema.GAS, t, 1.1, schema.READ, 0.1, schema.READ),
    ]
    span = span_from_rows(rows)
    assert span.several_eans == ["A", "B"]
    assert span.quarters[t].energy == {"import_t1": 50, "export_t1": 0}
    assert not span.quarters[t].estimated and span.quarters[t + 900].missing
    assert (span.gas[t].litres, span.gas[t].wh) == (100, 1100)
