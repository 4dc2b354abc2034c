"""Fuzzing the price parsers: damaged A44 documents and random CSV texts.

Property: the A44 parser returns prices or raises `A44Error` / `NoMatchingData`, the CSV
importer returns prices or raises `CsvError`; nothing else escapes, and what they return is
always a price per period (finite, on its resolution's boundary, one per period).
"""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logger.sources.prices.a44 import A44Error, NoMatchingData, parse
from logger.sources.prices.csv_import import CsvError, parse_csv

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
DOCUMENT = (Path(__file__).resolve().parent.parent / "data" / "entsoe" /
            "be_2025-10-01_both.xml").read_bytes()


def sound(prices) -> None:
    seen = set()
    for p in prices:
        assert p.price_eur_mwh == p.price_eur_mwh and abs(p.price_eur_mwh) <= 100_000
        assert p.start % p.resolution_s == 0
        assert (p.resolution_s, p.start) not in seen
        seen.add((p.resolution_s, p.start))


@FUZZ
@given(st.integers(0, len(DOCUMENT) - 1), st.integers(0, 40), st.binary(max_size=12))
def test_a_damaged_a44_document_is_refused_or_read_soundly(at, cut, junk):
    body = DOCUMENT[:at] + junk + DOCUMENT[at + cut:]
    try:
        result = parse(body)
    except (A44Error, NoMatchingData):
        return
    sound(result.prices)


lines = st.lists(st.tuples(
    st.sampled_from(["2025-10-01T00:00:00+02:00", "2025-10-01T00:15:00+02:00",
                     "2025-10-01T01:00:00+02:00", "2025-10-26T02:00:00+01:00",
                     "2025-10-26T02:00:00+02:00", "2026-01-01T00:00Z", "2026-01-01T00:10Z",
                     "2026-03-29T02:30:00", "tomorrow", ""]),
    st.sampled_from(["80.5", "-3", "1e9", "nan", "inf", "8,5", "", "x"])
    | st.floats(allow_nan=True).map(repr),
    st.sampled_from(["", ",PT15M", ",PT60M", ",P1D", ",", ",,"]),
), max_size=8)


@FUZZ
@given(lines, st.sampled_from([",", ";"]), st.booleans())
def test_a_random_csv_is_refused_with_its_line_or_read_soundly(rows, separator, header):
    text = ("start,price_eur_mwh\n" if header else "") + "".join(
        f"{start}{separator}{price}{extra.replace(',', separator)}\n"
        for start, price, extra in rows)
    try:
        prices = parse_csv(text)
    except CsvError as exc:
        assert "\n" not in str(exc)
        return
    sound(prices)
