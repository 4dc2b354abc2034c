"""P1 telegrams to points: the two real Fluvius telegrams, strictness, framing, bounds, fuzzing.

Expected values for the real telegrams are the facts dsmr_parser's own tests assert
(`test/test_parse_fluvius.py` upstream), re-stated here in the logger's units.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from dsmr_parser import telegram_specifications
from dsmr_parser.clients.telegram_buffer import TelegramBuffer
from dsmr_parser.parsers import TelegramParser
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logger.sources.p1.decoder import (
    BAD_CRC_FIELD,
    CRC_MISMATCH,
    GARBAGE,
    NO_TIME,
    NON_ASCII,
    OVERSIZED,
    PARSE_ERROR,
    TRUNCATED,
    BoundedTelegramBuffer,
    P1Decoder,
)
from logger.sources.p1.points import decode_equipment_id
from logger.testbed.simulator.model import HouseModel, InstallationFeatures
from logger.testbed.simulator.telegram import TelegramPrinter, crc16, seal

# The two real Belgian telegrams, byte-exact (CRLF kept: .gitattributes marks tests/data -text).
TELEGRAMS = Path(__file__).resolve().parent / "data" / "telegrams"
V171 = (TELEGRAMS / "telegram_fluvius_v171.txt").read_bytes()
ALT = (TELEGRAMS / "telegram_fluvius_v171_alt.txt").read_bytes()


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def by_measurement(points):
    out: dict[str, list] = {}
    for point in points:
        out.setdefault(point.measurement, []).append(point)
    return out


def resealed(raw: bytes, old: bytes, new: bytes) -> bytes:
    """`raw` with `old` replaced by `new` and a correct CRC again (a CRC-valid telegram)."""
    assert old in raw
    text = raw.replace(old, new)
    return seal(text[: text.rindex(b"!") + 1].decode("latin-1"))


# -------------------------------------------------------------- the real telegrams


def test_the_reference_telegrams_are_intact_crlf_and_crc_valid():
    for raw, crc in ((V171, 0x3AD7), (ALT, 0xC4B0)):
        assert raw.count(b"\r\n") == raw.count(b"\n")  # CRLF only, never rewritten
        body = raw[: raw.rindex(b"!") + 1]
        assert crc16(body) == crc == int(raw[-6:-2], 16)
        TelegramParser.validate_checksum(raw.decode("ascii"))


def test_v171_parses_to_the_values_dsmr_parser_asserts():
    raw_telegram = TelegramParser(telegram_specifications.BELGIUM_FLUVIUS).parse(
        V171.decode("ascii"), throw_ex=True
    )
    assert raw_telegram.BELGIUM_VERSION_INFORMATION.value == "50217"
    assert raw_telegram.BELGIUM_EQUIPMENT_IDENTIFIER.value == "3153414733313031303231363035"
    assert raw_telegram.ELECTRICITY_USED_TARIFF_2.value == Decimal("15.758")
    assert raw_telegram.get_mbus_device_by_channel(1).MBUS_DEVICE_TYPE.value == 3
    assert raw_telegram.get_mbus_device_by_channel(2).MBUS_DEVICE_TYPE.value == 7

    decoder = P1Decoder("home")
    reading = decoder.parse(V171.decode("ascii"))
    assert reading is not None
    assert reading.time == utc(2020, 5, 12, 11, 54, 9)  # 13:54:09 S = CEST
    assert reading.meter_id == "1SAG3101021605"
    point = reading.point
    assert point.measurement == "p1"
    assert point.tag_dict == {"installation": "home", "meter_id": "1SAG3101021605"}
    assert point.time == utc(2020, 5, 12, 11, 54, 9)
    assert point.field_dict == {
        "energy_import_t1_kwh": 0.034,
        "energy_import_t2_kwh": 15.758,
        "energy_export_t1_kwh": 0.0,
        "energy_export_t2_kwh": 0.011,
        "tariff": 1.0,
        "captar_avg_w": 2351.0,
        "captar_month_max_w": 2589.0,
        "power_import_w": 0.0,
        "power_export_w": 0.0,
        "power_import_l1_w": 0.0,
        "power_import_l2_w": 0.0,
        "power_import_l3_w": 0.0,
        "power_export_l1_w": 0.0,
        "power_export_l2_w": 0.0,
        "power_export_l3_w": 0.0,
        "voltage_l1_v": 234.7,
        "voltage_l2_v": 234.7,
        "voltage_l3_v": 234.7,
        "current_l1_a": 0.0,
        "current_l2_a": 0.0,
        "current_l3_a": 0.0,
    }
    # One point per Belgian month, at the month's start; the peak's own time is a field.
    assert [(p.time, p.field_dict["demand_w"], p.field_dict["occurred_s"])
            for p in reading.peaks] == [
        (utc(2020, 1, 31, 23), 4318.0, utc(2020, 2, 10, 2, 54, 21).timestamp()),
        (utc(2020, 2, 29, 23), 5980.0, utc(2020, 3, 5, 11, 21, 39).timestamp()),
        (utc(2020, 3, 31, 22), 3695.0, utc(2020, 4, 23, 17, 25, 38).timestamp()),
        (utc(2020, 4, 30, 22), 2589.0, utc(2020, 5, 9, 11, 45, 58).timestamp()),  # 1.6.0
    ]
    assert {p.tag_dict["kind"]: (p.time, p.field_dict) for p in reading.mbus} == {
        "gas": (utc(2020, 5, 12, 11, 45, 58), {"value_m3": 112.384}),
        "water": (utc(2020, 5, 12, 11, 45, 58), {"value_m3": 872.234}),
    }
    for p in (*reading.peaks, *reading.mbus):
        assert p.tag_dict["meter_id"] == "1SAG3101021605"


def test_v171_alt_parses_to_the_values_dsmr_parser_asserts():
    reading = P1Decoder("home").parse(ALT.decode("ascii"))
    assert reading is not None
    assert reading.time == utc(2023, 11, 2, 11, 15, 48)  # 12:15:48 W = CET
    assert reading.meter_id == "1SAG3100721326"
    fields = reading.point.field_dict
    assert fields["energy_import_t1_kwh"] == 301.548
    assert fields["energy_import_t2_kwh"] == 270.014
    assert fields["energy_export_t1_kwh"] == 0.005
    assert fields["energy_export_t2_kwh"] == 0.0
    assert fields["captar_avg_w"] == 52.0
    assert fields["captar_month_max_w"] == 3064.0
    assert fields["power_import_w"] == 338.0  # 0.338 kW, multiplied in decimal: exact
    assert fields["power_export_w"] == 0.0
    assert (
        fields["power_import_l1_w"],
        fields["power_import_l2_w"],
        fields["power_import_l3_w"],
    ) == (47.0, 179.0, 111.0)
    assert (fields["voltage_l1_v"], fields["voltage_l2_v"], fields["voltage_l3_v"]) == (
        232.9,
        228.1,
        228.1,
    )
    assert (fields["current_l1_a"], fields["current_l2_a"], fields["current_l3_a"]) == (
        0.27,
        0.88,
        0.52,
    )
    assert fields["tariff"] == 1.0
    # The placeholder month (632525252525W) is skipped; each entry belongs to the month before
    # its own month stamp (230901000000S holds August's peak), keyed at that month's start.
    assert [(p.time, p.field_dict["demand_w"], p.field_dict["occurred_s"])
            for p in reading.peaks] == [
        (utc(2023, 7, 31, 22), 1862.0, utc(2023, 8, 31, 16, 15).timestamp()),
        (utc(2023, 8, 31, 22), 4229.0, utc(2023, 9, 10, 16, 30).timestamp()),
        (utc(2023, 9, 30, 22), 4927.0, utc(2023, 10, 16, 11, 0).timestamp()),
        (utc(2023, 10, 31, 23), 3064.0, utc(2023, 11, 2, 10, 45).timestamp()),
    ]
    assert {p.tag_dict["kind"]: (p.time, p.field_dict["value_m3"]) for p in reading.mbus} == {
        "gas": (utc(2023, 11, 2, 11, 10, 2), 92.287),
        "water": (utc(2023, 11, 2, 11, 15, 32), 8.579),
    }


def test_equipment_ids_decode_like_the_local_api_shows_them():
    assert decode_equipment_id("3153414733313031303231363035") == "1SAG3101021605"
    assert decode_equipment_id("not hex") == "not hex"
    assert decode_equipment_id("00FF") == "00FF"  # not printable ASCII: kept as sent


def test_mbus_kind_comes_from_the_device_type_not_the_channel():
    swapped = V171.replace(b"0-1:", b"0-9:").replace(b"0-2:", b"0-1:").replace(b"0-9:", b"0-2:")
    swapped = seal(swapped[: swapped.rindex(b"!") + 1].decode("ascii"))
    reading = P1Decoder("home").parse(swapped.decode("ascii"))
    assert reading is not None
    kinds = {p.tag_dict["kind"]: p.field_dict["value_m3"] for p in reading.mbus}
    assert kinds == {"gas": 112.384, "water": 872.234}


def test_a_one_phase_meter_writes_only_the_phase_it_sends():
    text = V171.decode("ascii")
    kept = [
        line
        for line in text.split("\r\n")
        if not line.startswith(
            (
                "1-0:41.7",
                "1-0:61.7",
                "1-0:42.7",
                "1-0:62.7",
                "1-0:52.7",
                "1-0:72.7",
                "1-0:51.7",
                "1-0:71.7",
            )
        )
    ]
    one_phase = seal("\r\n".join(kept)[: "\r\n".join(kept).rindex("!") + 1])
    reading = P1Decoder("home").parse(one_phase.decode("ascii"))
    assert reading is not None
    names = set(reading.point.field_dict)
    assert {"voltage_l1_v", "current_l1_a", "power_import_l1_w", "power_export_l1_w"} <= names
    assert not {n for n in names if "_l2_" in n or "_l3_" in n}


# ---------------------------------------------------------------------- strictness


@pytest.mark.parametrize(
    ("telegram", "kind"),
    [
        (V171.replace(b"!3AD7", b"!3AD8"), CRC_MISMATCH),
        (V171.replace(b"000015.758", b"000015.759"), CRC_MISMATCH),
        (V171.replace(b"!3AD7", b"!XYZ"), BAD_CRC_FIELD),
        (V171.replace(b"!3AD7", b"!"), BAD_CRC_FIELD),
        (V171.replace(b"234.7*V", b"234.7*\xb3", 1), NON_ASCII),
        # CRC-valid but a line is corrupt: strict parsing rejects the whole telegram.
        (resealed(V171, b"1-0:1.8.1(000000.034*kWh)", b"1-0:1.8.1(00000X.034*kWh)"), PARSE_ERROR),
        (resealed(V171, b"0-0:98.1.0(3)", b"0-0:98.1.0(9)"), PARSE_ERROR),
        (resealed(V171, b"0-0:1.0.0(200512135409S)", b"0-0:1.0.0(201312135409S)"), NO_TIME),
        (resealed(V171, b"0-0:96.1.1(3153414733313031303231363035)", b""), NO_TIME),
        (resealed(V171, b"/FLU5\\253769484_A", b"/?"), PARSE_ERROR),
    ],
)
def test_a_bad_telegram_is_counted_by_kind_and_yields_nothing(telegram, kind):
    decoder = P1Decoder("home")
    assert decoder.parse(telegram.decode("latin-1")) is None
    assert dict(decoder.problems.counts) == {kind: 1}
    stream = P1Decoder("home")
    assert stream.feed(telegram) == []
    stream.end_of_stream()
    assert stream.problems.counts[kind] == 1, stream.problems.counts
    assert stream.stats.valid == 0


def test_framing_problems_are_counted_and_the_next_telegram_still_parses():
    decoder = P1Decoder("home")
    stream = (
        b"\xff\xfb\x01 telnet noise "  # garbage before anything
        + V171.replace(b"!3AD7", b"!XYZ")  # a CRC field that does not frame
        + V171[:300]  # a telegram cut off
        + ALT
    )
    points = decoder.feed(stream)
    assert [p.time_s for p in points if p.measurement == "p1"] == [1698923748]
    assert dict(decoder.problems.counts) == {GARBAGE: 1, BAD_CRC_FIELD: 1, TRUNCATED: 1}


def test_dsmr_parser_buffer_internals_are_what_the_bound_relies_on():
    """The cap trims TelegramBuffer's private `_buffer`; fail loudly if a release renames it."""
    buffer = TelegramBuffer()
    buffer.append("/abc")
    assert buffer._buffer == "/abc"
    assert hasattr(buffer, "_remove")


def test_garbage_without_a_slash_cannot_grow_memory():
    decoder = P1Decoder("home", max_buffer=16 * 1024)
    for i in range(2000):  # 8 MB of garbage (no '/'), with '!' and CRLF
        byte = i % 256 if i % 256 != ord("/") else 0
        decoder.feed(bytes([byte]) * 1000 + b"!0000\r\n" + b"\xff" * 3000)
        assert decoder.buffer.size == 0
    assert decoder.problems.counts[GARBAGE] == 2000
    assert decoder.feed(ALT)  # and a real telegram still parses afterwards


def test_a_telegram_that_never_ends_is_dropped_at_the_cap():
    decoder = P1Decoder("home", max_buffer=16 * 1024)
    decoder.feed(b"/FLU5\\253769484_A\r\n\r\n")
    for _ in range(200):
        decoder.feed(b"1-0:1.8.1(000000.034*kWh)\r\n" * 40)
        assert decoder.buffer.size <= 16 * 1024
    assert decoder.problems.counts[OVERSIZED] >= 1
    points = decoder.feed(V171)
    assert len([p for p in points if p.measurement == "p1"]) == 1


def test_bounded_buffer_keeps_a_pending_telegram_and_drops_dead_fragments():
    buffer = BoundedTelegramBuffer(100)
    buffer.append("junk/dead fragment/FLU5 pending")
    assert list(buffer.get_all()) == []
    buffer.trim()
    assert buffer._buffer == "/FLU5 pending"
    assert buffer.discarded == ["junk/dead fragment"]


# ----------------------------------------------------------------- rate and dedup


SIM_START = utc(2026, 1, 15, 9, 59, 50)


def simulated_telegrams(count: int, start: datetime = SIM_START, seed: int = 4):
    model = HouseModel(seed, InstallationFeatures(), start)
    printer = TelegramPrinter(model.features, seed)
    printer.observe(model.snapshot())
    out = []
    for _ in range(count):
        snap = model.advance_by(1)
        printer.observe(snap)
        out.append((snap.t, printer.render(snap)))
    return out


SIMULATED = simulated_telegrams(8)


def test_every_keeps_one_telegram_per_bucket_and_peaks_and_mbus_only_when_changed():
    telegrams = simulated_telegrams(65)
    decoder = P1Decoder("home", every=10)
    points = []
    for _, raw in telegrams:
        points.extend(decoder.feed(raw))
    groups = by_measurement(points)
    times = [p.time_s for p in groups["p1"]]
    # The first telegram of each 10-second bucket: the one that opened the stream (mid-bucket),
    # then every telegram on a multiple of 10 s.
    assert times == [t for i, (t, _) in enumerate(telegrams) if i == 0 or t % 10 == 0]
    # Peaks: each distinct peak once; M-Bus: one point per capture (every 5 minutes).
    peaks = groups["p1_peak"]
    assert len({p.identity for p in peaks}) == len(peaks) == 12  # 11 months + 1.6.0
    start = telegrams[0][0] - 1  # the simulated meter's first capture is at its start
    for kind in ("gas", "water"):
        captures = [p.time_s for p in groups["p1_mbus"] if p.tag_dict["kind"] == kind]
        assert captures == [start, start + 10]  # 08:59:50Z, then 09:00:00Z (5-minute grid)


def test_a_telegram_seen_twice_gives_no_second_point_and_the_same_identity():
    (_, first), (_, second) = SIMULATED[:2]
    decoder = P1Decoder("home")
    a = decoder.feed(first)
    again = decoder.feed(first)  # e.g. replayed after a reconnect
    b = decoder.feed(second)
    assert [p.measurement for p in again] == []
    assert {p.measurement for p in b} == {"p1"}  # peaks and M-Bus unchanged: not re-sent
    fresh = P1Decoder("home").feed(first)  # a restarted logger: same points, same identities
    assert [p.to_line() for p in fresh] == [p.to_line() for p in a]


def test_the_rate_rule_survives_a_restart_through_the_last_time():
    decoder = P1Decoder("home", every=10, last_time=utc(2026, 1, 15, 10, 0, 0))
    points = []
    for _, raw in SIMULATED:  # 09:59:51 .. 09:59:58 local = 08:59:51Z ..: new bucket
        points.extend(decoder.feed(raw))
    assert [p.time_s % 10 for p in points if p.measurement == "p1"] == [1]


# ------------------------------------------------------------------------ fuzzing

FUZZ = [*simulated_telegrams(5), (1589284449, V171), (1698923748, ALT)]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_splits_and_corruption_never_raise_and_never_write_a_corrupt_telegram(data):
    stream = b""
    expected = []
    for index, (t, raw) in enumerate(FUZZ):
        stream += data.draw(st.binary(max_size=30), label=f"garbage before {index}")
        if data.draw(st.booleans(), label=f"corrupt {index}"):
            position = data.draw(st.integers(0, len(raw) - 1), label="position")
            byte = data.draw(st.integers(0, 255).filter(lambda b, o=raw[position]: b != o))
            raw = raw[:position] + bytes([byte]) + raw[position + 1 :]
        else:
            expected.append(t)
        stream += raw
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=40), label="cuts"))
    decoder = P1Decoder("home")
    points = []
    for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True):
        points.extend(decoder.feed(stream[a:b]))
        assert decoder.buffer.size <= decoder.buffer.max_chars
    decoder.end_of_stream()
    assert [p.time_s for p in points if p.measurement == "p1"] == expected
    assert decoder.stats.valid == len(expected)


@settings(max_examples=200, deadline=None)
@given(chunks=st.lists(st.binary(max_size=3000), max_size=30))
def test_arbitrary_bytes_never_raise_and_stay_bounded(chunks):
    decoder = P1Decoder("home", max_buffer=4096)
    for chunk in chunks:
        assert decoder.feed(chunk) == []
        assert decoder.buffer.size <= 4096
    decoder.end_of_stream()


def test_a_superseded_running_peak_overwrites_its_month_instead_of_adding_a_peak():
    """Over a day the running month peak (1.6.0) rises several times: every value lands on the
    month's one `p1_peak` point, so a 12-month mean over p1_peak sees each month once."""
    start = utc(2026, 10, 31, 23)  # 2026-11-01 00:00 Belgian time: the model's month starts here
    model = HouseModel(7, InstallationFeatures(charger=True), start)
    printer = TelegramPrinter(model.features, 7)
    decoder = P1Decoder("home", every=900)
    printer.observe(model.snapshot())
    peaks, running_values = [], set()
    for _ in range(26 * 4):  # every quarter-hour for 26 hours
        for _ in range(900):
            snap = model.advance_by(1)
            printer.observe(snap)
        points = decoder.feed(printer.render(snap))
        peaks += [p for p in points if p.measurement == "p1_peak"]
        running_values.add(snap.captar_month_max_w)
    november = [p for p in peaks if p.time_s == int(start.timestamp())]
    assert len({v for v in running_values if v}) >= 2  # the peak really was superseded
    assert len(november) >= 2 and len({p.identity for p in november}) == 1
    assert november[-1].field_dict["demand_w"] == snap.captar_month_max_w
    assert november[-1].field_dict["occurred_s"] == snap.captar_month_max_t
    per_month = {p.time_s for p in peaks}
    assert len(per_month) == 12  # 11 closed months with a peak (the oldest has none) + November
