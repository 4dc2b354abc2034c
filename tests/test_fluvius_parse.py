"""The Fluvius export parser on files shaped exactly like the public samples (tests/data/fluvius,
README there says which sample each follows), with the expected values worked out by hand from
the simple rule each file's values follow.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from logger.core import fluvius_schema as schema
from logger.sources.fluvius import fields
from logger.sources.fluvius.parse import ExportParser, FormatError, Reading
from logger.sources.fluvius.points import PointMaker
from logger.sources.fluvius.tally import Tally

DATA = Path(__file__).parent / "data" / "fluvius"
AUTUMN_NL = DATA / ("Verbruikshistoriek_elektriciteit_541448820044512345_20211031_20211031_"
                    "kwartiertotalen.csv")
SPRING_EN = DATA / ("Consumption_history_electricity_541448820044512345_20240331_20240401_"
                    "15 minute totals.csv")
STATUSES_NL = DATA / ("Verbruikshistoriek_elektriciteit_541448820044512345_20240115_20240115_"
                      "kwartiertotalen.csv")
GAS_NL = DATA / "Verbruikshistoriek_gas_541448860022334455_20231029_20231029_uurtotalen.csv"
GAS_EN = DATA / "Consumption_history_gas_541448860022334455_20240331_20240331_hourly totals.csv"
EAN = "541448820044512345"
ENGLISH_HEADER = ("From (date);From (time);Until (date);Until (time);EAN code;Meter;Meter type;"
                  "Register;Volume;Unit;Validation status;Description")


def utc(*args: int) -> int:
    return int(datetime(*args, tzinfo=UTC).timestamp())


def parse(path: Path) -> tuple[ExportParser, list[Reading]]:
    parser = ExportParser()
    with path.open("rb") as handle:
        readings = list(parser.readings(handle))
    return parser, readings


def by_register(readings: list[Reading], register: str) -> dict[int, Reading]:
    return {r.start: r for r in readings if r.register == register}


def test_the_autumn_change_in_dutch_has_100_quarter_hours_and_the_repeated_hour_twice():
    parser, readings = parse(AUTUMN_NL)
    assert parser.facts.language == "nl" and parser.facts.refused.total == 0
    assert (parser.facts.lines, len(readings)) == (200, 200)
    offtake = by_register(readings, schema.IMPORT_T2)
    # 31-10-2021 00:00 CEST is 30-10 22:00 UTC; 23:45 CET is 22:45 UTC: 100 quarters, no hole.
    assert sorted(offtake) == list(range(utc(2021, 10, 30, 22), utc(2021, 10, 31, 23), 900))
    # The i-th quarter of the file holds 100 + i Wh. Rows 8-11 are the first 02:00-02:45 (CEST,
    # 00:00-00:45 UTC; the last ends "02:00"), rows 12-15 the second (CET, 01:00-01:45 UTC).
    assert offtake[utc(2021, 10, 31, 0, 0)].value == 108
    assert offtake[utc(2021, 10, 31, 0, 45)].value == 111
    assert offtake[utc(2021, 10, 31, 0, 45)].end == utc(2021, 10, 31, 1, 0)
    assert offtake[utc(2021, 10, 31, 1, 0)].value == 112
    assert offtake[utc(2021, 10, 31, 1, 45)].value == 115
    assert offtake[utc(2021, 10, 31, 2, 0)].value == 116  # 03:00 CET
    assert sum(r.value for r in offtake.values()) == 14_950  # 100 + 101 + ... + 199 Wh
    assert sum(r.status == schema.ESTIMATED for r in offtake.values()) == 10  # rows 40-49
    assert all(r.status == schema.VALIDATED for i, r in enumerate(
        sorted(offtake.values(), key=lambda r: r.start)) if not 40 <= i < 50)
    injection = by_register(readings, schema.EXPORT_T2)
    assert len(injection) == 100
    assert {(r.value, r.status) for r in injection.values()} == {(0, schema.NO_CONSUMPTION)}
    assert {r.ean for r in readings} == {EAN} and {r.meter for r in readings} == {
        "1SAG1100000292"}


def test_the_spring_change_in_english_has_92_quarter_hours_and_a_truncated_last_line():
    parser, readings = parse(SPRING_EN)
    assert parser.facts.language == "en"
    assert parser.facts.lines == 185 and len(readings) == 184  # 92 quarters x 2 registers
    [reason] = parser.facts.refused.counts
    assert "8 of 12 columns" in reason and parser.facts.refused.lines[reason] == [186]
    offtake = by_register(readings, schema.IMPORT_T2)
    # 31-03-2024 00:00 CET is 30-03 23:00 UTC, 23:45 CEST is 21:45 UTC; 02:00-02:45 absent.
    assert sorted(offtake) == list(range(utc(2024, 3, 30, 23), utc(2024, 3, 31, 22), 900))
    before = offtake[utc(2024, 3, 31, 0, 45)]  # 01:45 CET, written to end at 03:00
    assert (before.end, before.value) == (utc(2024, 3, 31, 1), 207)
    assert offtake[utc(2024, 3, 31, 1)].value == 208  # 03:00 CEST: the 8th quarter
    first = offtake[utc(2024, 3, 30, 23)]
    assert (first.value, first.status) == (0, schema.NO_CONSUMPTION)
    assert sum(r.value for r in offtake.values()) == 22_386  # 201 + 202 + ... + 291 Wh
    injection = by_register(readings, schema.EXPORT_T2)
    assert sum(r.value for r in injection.values()) == 273  # 13 x (0 + 1 + ... + 6) Wh
    statuses = [r.status for r in sorted(offtake.values(), key=lambda r: r.start)]
    assert statuses[0] == schema.NO_CONSUMPTION and statuses[50] == schema.ESTIMATED
    assert statuses[1:50] == [schema.READ] * 49 and statuses[51:60] == [schema.READ] * 9
    assert statuses[60:] == [schema.VALIDATED] * 32


def test_the_quarter_before_the_spring_change_may_also_end_at_the_skipped_0200():
    line = (f'31/03/2024;01:45:00;31/03/2024;02:00:00;="{EAN}";M;Digital meter;Offtake Night;'
            "0,207;kWh;Read;")
    [reading] = ExportParser().readings([f"{ENGLISH_HEADER}\r\n{line}".encode()])
    assert (reading.start, reading.end) == (utc(2024, 3, 31, 0, 45), utc(2024, 3, 31, 1))
    parser = ExportParser()
    skipped = line.replace("01:45:00;31/03/2024;02:00:00", "02:15:00;31/03/2024;02:30:00")
    assert list(parser.readings([f"{ENGLISH_HEADER}\r\n{skipped}".encode()])) == []
    [reason] = parser.facts.refused.counts
    assert "does not exist" in reason


def test_every_status_is_mapped_and_every_bad_line_is_refused_with_its_number():
    parser, readings = parse(STATUSES_NL)
    facts = parser.facts
    got = [(r.line, r.register, r.value, r.status) for r in readings]
    assert got == [
        (2, schema.IMPORT_T2, 150, schema.READ),  # Uitgelezen
        (3, schema.EXPORT_T2, 0, schema.READ),
        (4, schema.IMPORT_T1, 210, schema.VALIDATED),  # Gevalideerd
        (5, schema.EXPORT_T1, 5, schema.VALIDATED),
        (6, schema.IMPORT_T1, 180, schema.ESTIMATED),  # Geschat
        (7, schema.EXPORT_T1, 0, schema.NO_CONSUMPTION),  # Geen verbruik, empty volume
        (8, schema.IMPORT_T1, None, schema.MISSING),  # Gevalideerd with an empty volume
        (9, schema.EXPORT_T1, 0, schema.VALIDATED),
        (11, schema.EXPORT_T1, 12, schema.READ),
        (18, schema.IMPORT_T1, 40, schema.READ),
    ]
    assert readings[0].start == utc(2024, 1, 15, 5, 45)  # 06:45 CET
    refused = {line: reason for reason, lines in facts.refused.lines.items() for line in lines}
    assert sorted(refused) == [10, 12, 13, 14, 15, 16, 19]
    assert "'Onbekend' is not known" in refused[10]
    assert "volume '0,1x5'" in refused[12]
    assert "date '15-13-2024'" in refused[13]
    assert "30 min long, not 15 min" in refused[14]
    assert "register 'Afname Piek'" in refused[15]
    assert "unit 'MWh'" in refused[16]
    assert "9 of 12 columns" in refused[19]
    assert facts.unknown_statuses == {"Onbekend": 1}
    assert facts.lines == 17  # the blank line 17 is neither a reading nor refused


def test_gas_hours_on_both_dst_days_in_m3_and_kwh_become_one_point_per_hour():
    parser, readings = parse(GAS_NL)
    assert parser.facts.refused.total == 0 and len(readings) == 10
    litres = {r.start: r.value for r in readings if r.unit == fields.M3}
    # 00:00 and 01:00 CEST, 02:00 CEST (written 02:00 -> 02:00), 02:00 CET, 03:00 CET.
    assert litres == {utc(2023, 10, 28, 22): 100, utc(2023, 10, 28, 23): 110,
                      utc(2023, 10, 29, 0): 120, utc(2023, 10, 29, 1): 130,
                      utc(2023, 10, 29, 2): 140}
    maker = PointMaker("home")
    points = [p for p in (maker.add(r) for r in readings) if p is not None]  # each hour's pair
    assert len(points) == 5 and maker.finish() == []
    second_pass = points[3]
    assert second_pass.time_s == utc(2023, 10, 29, 1)
    assert second_pass.tag_dict == {"installation": "home", "ean": "541448860022334455",
                                    "register": "gas"}
    assert second_pass.field_dict == {"volume_m3": 0.13, "volume_status": schema.ESTIMATED,
                                      "energy_kwh": 1.43, "energy_status": schema.ESTIMATED}
    parser, readings = parse(GAS_EN)
    assert parser.facts.language == "en" and parser.facts.refused.total == 0
    hours = {r.start: r.value for r in readings if r.unit == fields.KWH}
    # 00:00 CET, 01:00 CET (written 01:00 -> 03:00), 03:00 CEST.
    assert hours == {utc(2024, 3, 30, 23): 2200, utc(2024, 3, 31, 0): 2310,
                     utc(2024, 3, 31, 1): 2420}


def test_gas_lines_in_any_order_still_make_one_point_per_hour():
    _, readings = parse(GAS_NL)
    maker = PointMaker("home")
    by_unit = sorted(readings, key=lambda r: r.unit)  # every kWh line first, then every m³
    assert [p for p in (maker.add(r) for r in by_unit[:5]) if p] == []
    points = [p for p in (maker.add(r) for r in by_unit[5:]) if p] + maker.finish()
    assert len(points) == 5 and {len(p.fields) for p in points} == {4}
    maker = PointMaker("home")
    only_m3 = [p for p in (maker.add(r) for r in by_unit[5:]) if p] + maker.finish()
    assert len(only_m3) == 5
    assert only_m3[0].field_dict == {"volume_m3": 0.1, "volume_status": schema.VALIDATED}


def test_electricity_points_carry_the_status_as_a_field_and_missing_values_write_none():
    _, readings = parse(STATUSES_NL)
    maker = PointMaker("home")
    points = [maker.add(r) for r in readings]
    assert points[2].to_line() == (
        "ledger_fluvius,ean=541448820044512345,installation=home,register=import_t1 "
        f"energy_kwh=0.21,energy_status=2.0 {utc(2024, 1, 15, 6)}")
    missing = points[6]
    assert missing.field_dict == {"energy_status": schema.MISSING}
    # The identity leaves the status out: a later validated value overwrites this point.
    validated = PointMaker("home").add(Reading(8, "electricity", schema.IMPORT_T1, "kwh",
                                               missing.time_s, missing.time_s + 900, 95,
                                               schema.VALIDATED, EAN, ""))
    assert validated.identity == missing.identity


def test_overlapping_files_are_counted_once_as_influxdb_will_hold_them():
    tally = Tally()
    for _ in range(2):
        for reading in parse(AUTUMN_NL)[1]:
            tally.add(reading)
    totals = {(t.register, t.unit): t for t in tally.totals()}
    night = totals[(schema.IMPORT_T2, "kwh")]
    assert (night.intervals, night.units) == (100, 14_950)
    assert night.statuses == {"validated": 90, "estimated": 10}
    day = datetime(2021, 10, 31).date()
    assert tally.electricity_days() == {day: (100, 100)}
    assert tally.span() == (utc(2021, 10, 30, 22), utc(2021, 10, 31, 23))


@pytest.mark.parametrize("header", [
    # The Dutch sample's first header (git history of the sample file), and a spreadsheet's.
    "Van Datum;Van Tijdstip;Tot Datum;Tot Tijdstip;EAN;Meter;Metertype;Register;Volume;"
    "Eenheid;Validatiestatus",
    ENGLISH_HEADER.upper(),
])
def test_header_spellings_fluvius_has_used_are_all_read(header):
    line = '01-02-2024;10:00:00;01-02-2024;10:15:00;="1";M;x;Afname Dag;0,5;kWh;Read;'
    parser = ExportParser()
    [reading] = parser.readings([f"{header}\r\n{line}\r\n".encode()])
    assert reading.value == 500 and reading.register == schema.IMPORT_T1


def test_a_file_that_is_not_an_export_is_refused_whole_with_the_reason():
    with pytest.raises(FormatError, match="no column for from_date, from_time"):
        list(ExportParser().readings([b"Datum;Tijd;Verbruik\n", b"1;2;3\n"]))
    with pytest.raises(FormatError, match="UTF-16"):
        list(ExportParser().readings(["x;y".encode("utf-16")]))
    with pytest.raises(FormatError, match="empty"):
        list(ExportParser().readings([b"\xef\xbb\xbf", b"\r\n"]))


def test_a_file_resaved_by_a_spreadsheet_in_windows_1252_with_commas_is_read():
    header = ("Van datum,Van tijdstip,Tot datum,Tot tijdstip,EAN-code,Meter,Metertype,Register,"
              "Volume,Eenheid,Validatiestatus,Calorische Bovenwaarde")
    line = ('10-01-2022,7:00,10-01-2022,8:00,541448860022334455,7FLO1,Digitale Meter,Afname,'
            '"0,495",m³,Gevalideerd,')
    parser = ExportParser()
    [reading] = parser.readings([f"{header}\n{line}".encode("cp1252")])
    assert (reading.unit, reading.value, reading.start) == (fields.M3, 495, utc(2022, 1, 10, 6))
    assert parser.facts.encoding == "windows-1252" and parser.facts.delimiter == ","


@pytest.mark.parametrize(("text", "units"), [
    ("0,173", 173), ("", None), (" ", None), ("1.234,567", 1_234_567), ("0.5", 500),
    ("12", 12_000), (",5", 500), ("0,0005", 0), ("0,0015", 2), ("0,0016", 2),
])
def test_volumes_become_exact_thousandths(text, units):
    assert fields.volume(text) == units


@pytest.mark.parametrize("text", ["-0,1", "0,1,2", "1e3", "abc", "０,５"])
def test_volumes_that_are_no_number_are_refused(text):
    with pytest.raises(fields.CellError):
        fields.volume(text)


def test_an_ean_that_a_spreadsheet_rounded_is_refused():
    assert fields.ean('="541448820052377134"') == "541448820052377134"
    assert fields.ean("541448820052377134") == "541448820052377134"
    with pytest.raises(fields.CellError, match="rounded"):
        fields.ean("5,41449E+17")
