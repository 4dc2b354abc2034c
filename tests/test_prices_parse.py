"""Day-ahead prices as the platform writes them: the A44 parser against documents in the
published layout (tests/data/entsoe/, written by hand from the ENTSO-E document structure, not by
the simulator's serializer), and the CSV importer's documented format.

The files follow one rule the oracle here states plainly: a listed point at position p has
price `base + step * p`; a position curve type A03 leaves out takes the last listed price before
it, up to the end of the period.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from logger.sources.prices.a44 import A44Error, NoMatchingData, parse
from logger.sources.prices.csv_import import CsvError, parse_csv
from logger.sources.prices.points import price_points

DATA = Path(__file__).resolve().parent / "data" / "entsoe"


def utc(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp())


def expected(start: str, step_s: int, count: int, omitted: set[int], base: float, step: float
             ) -> list[tuple[int, float]]:
    """(start, price) of every position of a period, A03-filled by hand."""
    out, last = [], None
    for p in range(1, count + 1):
        if p not in omitted:
            last = round(base + step * p, 2)
        out.append((utc(start) + (p - 1) * step_s, last))
    return out


def of(result, resolution: int) -> list[tuple[int, float]]:
    return [(p.start, p.price_eur_mwh) for p in result.prices if p.resolution_s == resolution]


def test_an_hourly_day_with_a03_gaps_inside_and_at_the_end_is_filled_to_its_24_hours():
    result = parse((DATA / "be_2025-09-30_pt60m.xml").read_bytes())
    assert of(result, 3600) == expected("2025-09-29T22:00", 3600, 24, {5, 6, 23, 24}, 50, 0.5)
    assert result.filled == 4 and result.unfilled == 0 and result.series == 1


def test_across_2025_10_01_both_resolutions_and_several_series_are_read_apart():
    result = parse((DATA / "be_2025-10-01_both.xml").read_bytes())
    hourly = expected("2025-09-29T22:00", 3600, 24, {5, 6, 23, 24}, 50, 0.5)
    hourly += expected("2025-09-30T22:00", 3600, 24, set(), 70, 1.0)
    assert of(result, 3600) == hourly
    quarters = of(result, 900)
    assert quarters == expected("2025-09-30T22:00", 900, 96, {17, 18, 19, 20, 93, 94, 95, 96},
                                60, 0.25)
    assert len(quarters) == 96 and quarters[-1] == (utc("2025-10-01T21:45"), 83.0)
    assert result.series == 3 and result.filled == 4 + 8


def test_the_dst_days_have_100_and_92_quarter_hours_stamped_in_utc():
    autumn = parse((DATA / "be_2025-10-26_pt15m.xml").read_bytes())
    assert of(autumn, 900) == expected("2025-10-25T22:00", 900, 100, {9, 10, 11, 12, 99, 100},
                                       40, -1.0)
    spring = parse((DATA / "be_2026-03-29_pt15m.xml").read_bytes())
    prices = of(spring, 900)
    assert prices == expected("2026-03-28T23:00", 900, 92, {2, 3, 92}, 30, -0.5)
    assert min(p for _, p in prices) < 0  # negative prices are prices


def test_a_repeated_series_is_ignored_and_a_conflicting_one_counted_the_first_kept():
    result = parse((DATA / "be_duplicate_series.xml").read_bytes())
    assert of(result, 3600) == expected("2025-09-29T22:00", 3600, 24, set(), 50, 0.5)
    assert result.duplicates == 24 and result.conflicts == 24


def test_the_no_matching_data_acknowledgement_is_no_data_not_an_error():
    with pytest.raises(NoMatchingData, match="No matching data found for Data item"):
        parse((DATA / "ack_no_matching_data.xml").read_bytes())
    with pytest.raises(A44Error, match="refused the query: The amount of requested data"):
        parse((DATA / "ack_too_much.xml").read_bytes())


@pytest.mark.parametrize(("body", "message"), [
    ((DATA / "be_wrong_unit.xml").read_bytes(), "PLN per MWH"),
    (b"<html><body>502 Bad Gateway</body></html>", "expected a Publication_MarketDocument"),
    (b"<Publication_MarketDocument><TimeSeries>", "not well-formed"),
    (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>', "DTD"),
    ((DATA / "be_2025-09-30_pt60m.xml").read_bytes().replace(b"<position>24", b"<position>25")
     .replace(b"<position>22<", b"<position>30<"), "outside the period's 1..24"),
    ((DATA / "be_2025-09-30_pt60m.xml").read_bytes().replace(b"PT60M", b"P1D"), "resolution"),
    ((DATA / "be_2025-09-30_pt60m.xml").read_bytes().replace(b"50.50", b"fifty"),
     "not a number"),
], ids=["currency", "html", "truncated", "dtd", "position", "resolution", "price"])
def test_a_document_that_cannot_be_trusted_is_refused_with_the_reason(body, message):
    with pytest.raises(A44Error, match=message):
        parse(body)


def test_each_point_knows_the_next_price_even_across_the_resolution_switch():
    result = parse((DATA / "be_2025-10-01_both.xml").read_bytes())
    points = {(p.tag_dict["resolution"], p.time_s): p.field_dict
              for p in price_points(result.prices, "home", "10YBE----------2")}
    last_hour_of_september = points[("PT60M", utc("2025-09-30T21:00"))]
    assert last_hour_of_september["next_price_eur_mwh"] == 71.0  # the hourly series goes on
    quarter = points[("PT15M", utc("2025-10-01T01:45"))]  # position 16; 17-20 left out
    assert quarter == {"price_eur_mwh": 64.0, "next_price_eur_mwh": 64.0}
    assert "next_price_eur_mwh" not in points[("PT15M", utc("2025-10-01T21:45"))]


def test_the_last_hourly_price_before_quarter_hours_learns_the_first_quarter_as_next():
    from logger.sources.prices.points import PricePoint

    switch = utc("2025-09-30T22:00")  # local midnight of 1 October 2025
    prices = [PricePoint(switch - 3600, 3600, 80.0), PricePoint(switch, 900, 81.25),
              PricePoint(switch + 900, 900, 79.5)]
    points = {p.time_s: p.field_dict for p in price_points(prices, "home", "10YBE----------2")}
    assert points[switch - 3600] == {"price_eur_mwh": 80.0, "next_price_eur_mwh": 81.25}
    assert points[switch]["next_price_eur_mwh"] == 79.5


# -- the CSV importer --------------------------------------------------------------------------


def test_a_csv_with_offsets_across_the_switch_and_the_autumn_hour_is_read_exactly():
    text = ("start,price_eur_mwh\n"
            "2025-09-30T23:00:00+02:00,80.5\n"
            "2025-10-01T00:00:00+02:00,81.25\n"
            "2025-10-01T00:15:00+02:00,-3.5\n"
            "2025-10-01T00:30:00+02:00,79\n"
            "2025-10-01T00:45:00+02:00,78\n"
            "2025-10-26T02:00:00+02:00,50\n"  # the first 02:00 of the autumn night
            "2025-10-26T02:00:00+01:00,40\n")  # the second, an hour later
    prices = parse_csv(text)
    assert [(p.start, p.resolution_s, p.price_eur_mwh) for p in prices] == [
        (utc("2025-09-30T21:00"), 3600, 80.5),
        (utc("2025-09-30T22:00"), 900, 81.25), (utc("2025-09-30T22:15"), 900, -3.5),
        (utc("2025-09-30T22:30"), 900, 79.0), (utc("2025-09-30T22:45"), 900, 78.0),
        (utc("2025-10-26T00:00"), 3600, 50.0), (utc("2025-10-26T01:00"), 3600, 40.0),
    ]


def test_a_spreadsheet_csv_with_semicolons_decimal_commas_and_a_resolution_column():
    prices = parse_csv("start;price;resolution\n2026-01-01T00:00Z;95,5;PT60M\n")
    assert [(p.start, p.resolution_s, p.price_eur_mwh) for p in prices] == [
        (utc("2026-01-01T00:00"), 3600, 95.5)]


@pytest.mark.parametrize(("text", "message"), [
    ("2025-10-26T02:00:00,50\n2025-10-26T03:00:00,51\n", "line 1: .* has no UTC offset"),
    ("2026-01-01T00:00Z,1\n2026-01-01T00:00Z,2\n", "line 2: starts the period line 1 started too"),
    ("2026-01-01T00:10Z,1\n2026-01-01T00:25Z,2\n", "line 1: a 15-minute period cannot start"),
    ("2026-01-01T00:00Z,1\n", "line 1: cannot tell its resolution"),
    ("2026-01-01T00:00Z,cheap\n2026-01-01T01:00Z,2\n", "line 1: price 'cheap'"),
    ("2026-01-01T00:00Z,1,PT60M\n2026-01-01T00:15Z,2,PT15M\n", "says 60 minutes but the next"),
    ("start,price\n", "no prices"),
], ids=["no-offset", "twice", "off-boundary", "alone", "price", "resolution", "empty"])
def test_a_csv_that_is_not_the_documented_format_names_the_line(text, message):
    with pytest.raises(CsvError, match=message):
        parse_csv(text)
