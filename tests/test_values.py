"""Cleaning the box's numbers: float32 noise, strings, envelopes."""

from hypothesis import given
from hypothesis import strategies as st

from logger.sources.values import (
    as_device_list,
    denoise_float32,
    kw_to_w,
    number,
    snake,
    unwrap,
)


def test_float32_noise_is_removed():
    assert number(2.7990000247955322) == 2.799
    assert number(14808.845703125) == 14808.846
    assert number(232.80000305175781) == 232.8
    assert number(0.00999999977648258) == 0.01


def test_genuine_doubles_keep_their_precision():
    assert denoise_float32(0.1) == 0.1
    assert denoise_float32(14808.8457) == 14808.8457


def test_numbers_as_strings_are_numbers():
    assert number("2.7990000247955322") == 2.799
    assert number(" 12 ") == 12.0


def test_non_numbers_are_none():
    for value in (None, True, "abc", "", [], {}, "nan", "inf", float("nan")):
        assert number(value) is None


def test_kilowatts_become_exact_watts():
    assert kw_to_w(2.7990000247955322) == 2799.0
    assert kw_to_w(0) == 0.0
    assert kw_to_w("x") is None


def test_data_envelope_is_unwrapped():
    assert unwrap({"data": [1], "status": "ok"}) == [1]
    assert unwrap({"data": {"power": 1}}) == {"power": 1}
    assert unwrap({"data": 1, "power": 2}) == {"data": 1, "power": 2}


def test_device_lists_accept_lists_objects_and_empties():
    assert as_device_list([{"id": "a"}, 3]) == [{"id": "a"}]
    assert as_device_list({"id": "a"}) == [{"id": "a"}]
    assert as_device_list({}) == []
    assert as_device_list([]) == []
    assert as_device_list({"data": [{"id": "a"}]}) == [{"id": "a"}]
    assert as_device_list("nonsense") is None


def test_snake_case_names():
    assert snake("maxCurrent") == "max_current"
    assert snake("three-phase") == "three_phase"


def test_a_value_one_float32_step_from_three_decimals_is_read_as_three_decimals():
    assert number(50.600002288818359) == 50.6
    assert number(504.80001831054688) == 504.8


@given(st.floats(width=32, allow_nan=False, allow_infinity=False))
def test_denoising_moves_a_float32_value_at_most_one_float32_step(value):
    import struct

    cleaned = denoise_float32(value)
    bits = lambda x: struct.unpack("<i", struct.pack("<f", x))[0]  # noqa: E731
    assert abs(bits(cleaned) - bits(value)) <= 1
