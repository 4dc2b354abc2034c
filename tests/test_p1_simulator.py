"""The simulator's P1 stream: valid CRCs, agreement with the local API, DST flags, M-Bus,
peaks, rate cap and fault controls."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import pytest
from dsmr_parser import telegram_specifications
from dsmr_parser.parsers import TelegramParser

from logger.sources.p1.decoder import P1Decoder
from logger.testbed.simulator import Simulator, SimulatorConfig
from logger.testbed.simulator.httpserver import Request
from logger.testbed.simulator.local_api import float32, meter_payload
from logger.testbed.simulator.model import HouseModel, InstallationFeatures
from logger.testbed.simulator.p1_stream import P1Faults, P1Stream, damage
from logger.testbed.simulator.telegram import TelegramPrinter, dsmr_time, month_key

PARSER = TelegramParser(telegram_specifications.BELGIUM_FLUVIUS)


def printer_run(start: datetime, seconds: int, seed: int = 1, **features):
    model = HouseModel(seed, InstallationFeatures(**features), start)
    printer = TelegramPrinter(model.features, seed)
    printer.observe(model.snapshot())
    for _ in range(seconds):
        snap = model.advance_by(1)
        printer.observe(snap)
        yield snap, printer


def test_telegrams_have_valid_crcs_and_agree_with_the_local_meter_payload():
    start = datetime(2026, 6, 21, 11, 0, tzinfo=UTC)
    for snap, printer in printer_run(start, 900):
        if snap.t % 37:
            continue
        raw = printer.render(snap)
        telegram = PARSER.parse(raw.decode("ascii"), throw_ex=True)  # CRC checked
        local = meter_payload(snap, printer.features)
        assert telegram.P1_MESSAGE_TIMESTAMP.value == datetime.fromtimestamp(snap.t, UTC)
        assert telegram.BELGIUM_EQUIPMENT_IDENTIFIER.value == b"1SAG3101021605".hex().upper()
        # Same registers: the telegram's 3-decimal kWh, the local API's float32 of them.
        pairs = [
            (telegram.ELECTRICITY_USED_TARIFF_1.value, local["energy"]["in_1"]),
            (telegram.ELECTRICITY_USED_TARIFF_2.value, local["energy"]["in_2"]),
            (telegram.ELECTRICITY_DELIVERED_TARIFF_1.value, local["energy"]["out_1"]),
            (telegram.ELECTRICITY_DELIVERED_TARIFF_2.value, local["energy"]["out_2"]),
            (telegram.CURRENT_ELECTRICITY_USAGE.value, local["power"]["in"]),
            (telegram.CURRENT_ELECTRICITY_DELIVERY.value, local["power"]["out"]),
            (telegram.BELGIUM_CURRENT_AVERAGE_DEMAND.value, local["captar"]["actual"]),
            (telegram.BELGIUM_MAXIMUM_DEMAND_MONTH.value, local["captar"]["month_max_value"]),
            (telegram.INSTANTANEOUS_VOLTAGE_L2.value, local["voltage"]["l2"]),
        ]
        for exact, shown in pairs:
            assert float(exact) == shown  # before the box's float32 rounding: identical
            assert float32(float(exact)) == float32(shown)
        per_phase = sum(
            getattr(telegram, f"INSTANTANEOUS_ACTIVE_POWER_L{n}_POSITIVE").value for n in (1, 2, 3)
        )
        assert per_phase == telegram.CURRENT_ELECTRICITY_USAGE.value


def test_the_stream_model_and_the_local_api_model_agree_at_every_second():
    async def main():
        sim = Simulator(
            SimulatorConfig(seed=9, start=datetime(2026, 1, 5, 6, 0, tzinfo=UTC), speed=0)
        )
        stream_model = sim.p1_stream.model
        for _ in range(600):
            stream_snap = stream_model.advance_by(1)
            assert sim.model.advance_to(stream_snap.t) == stream_snap

    asyncio.run(main())


def test_dsmr_time_flags_follow_dst_both_ways():
    autumn = int(datetime(2026, 10, 25, 1, 0, tzinfo=UTC).timestamp())
    assert dsmr_time(autumn - 1) == "261025025959S"
    assert dsmr_time(autumn) == "261025020000W"
    spring = int(datetime(2026, 3, 29, 1, 0, tzinfo=UTC).timestamp())
    assert dsmr_time(spring - 1) == "260329015959W"
    assert dsmr_time(spring) == "260329030000S"


def test_gas_and_water_are_typed_mbus_channels_with_5_minute_captures():
    start = datetime(2026, 12, 1, 7, 58, tzinfo=UTC)
    readings = []
    for snap, printer in printer_run(start, 700):
        telegram = PARSER.parse(printer.render(snap).decode("ascii"), throw_ex=True)
        gas, water = (telegram.get_mbus_device_by_channel(n) for n in (1, 2))
        assert (gas.MBUS_DEVICE_TYPE.value, water.MBUS_DEVICE_TYPE.value) == (3, 7)
        assert "0-1:24.2.3(" in printer.body(snap) and "0-2:24.2.1(" in printer.body(snap)
        readings.append((gas.MBUS_METER_READING.datetime, gas.MBUS_METER_READING.value))
    captures = sorted(set(readings))
    assert [int(t.timestamp()) % 300 for t, _ in captures[1:]] == [0, 0]
    assert captures[1][1] < captures[2][1]  # it is winter: the heating burns gas


def test_no_water_meter_means_no_channel_2_and_an_unreported_phase_has_no_lines():
    start = datetime(2026, 4, 1, 12, 0, tzinfo=UTC)
    snap, printer = next(iter(printer_run(start, 1, water=False, unreported_phase="l3")))
    body = printer.body(snap)
    assert "0-2:" not in body
    assert "1-0:72.7.0" not in body and "1-0:61.7.0" not in body
    reading = P1Decoder("home").parse(printer.render(snap).decode("ascii"))
    assert {p.tag_dict["kind"] for p in reading.mbus} == {"gas"}
    assert not [f for f in reading.point.field_dict if "_l3_" in f]


def test_a_closed_month_moves_its_peak_into_the_13_month_history():
    start = datetime(2026, 10, 31, 22, 55, tzinfo=UTC)  # 23:55 local on 31 October
    last_october_peak = None
    for snap, printer in printer_run(start, 900):
        telegram = PARSER.parse(printer.render(snap).decode("ascii"), throw_ex=True)
        month = telegram.BELGIUM_MAXIMUM_DEMAND_MONTH
        history = telegram.BELGIUM_MAXIMUM_DEMAND_13_MONTHS
        assert len(history) == 13
        if month_key(snap.t) == month_key(int(start.timestamp())):
            last_october_peak = (month.datetime, month.value)
        else:
            newest = history[-1]
            assert (newest.occurred, newest.value) == last_october_peak
            assert newest.datetime == datetime(2026, 10, 31, 23, 0, tzinfo=UTC)  # 1 Nov 00:00
    assert last_october_peak is not None


def test_an_expired_consent_drops_the_capacity_registers_and_keeps_the_telegram_valid():
    start = datetime(2026, 4, 1, 12, 0, tzinfo=UTC)
    snap, printer = next(iter(printer_run(start, 1)))
    full, bare = printer.body(snap), printer.body(snap, captar=False)
    for code in ("1-0:1.4.0", "1-0:1.6.0", "0-0:98.1.0"):
        assert code in full and code not in bare
    assert set(bare.split("\r\n")) < set(full.split("\r\n"))  # nothing else changes
    decoder = P1Decoder("home")
    reading = decoder.parse(printer.render(snap, captar=False).decode("ascii"))
    assert reading is not None and not decoder.problems.counts
    assert "captar_month_max_w" not in reading.point.field_dict and reading.peaks == ()
    assert P1Faults(1).prepare({"no_captar": True})[0].no_captar


def test_the_rate_cap_keeps_every_nth_second():
    model = HouseModel(1, InstallationFeatures(), datetime(2026, 1, 1, tzinfo=UTC))

    class Clock:
        speed = 1000.0

    stream = P1Stream(model, Clock())  # type: ignore[arg-type]
    assert stream._step_every() == 10
    stream.update({"max_rate": 1000})
    assert stream._step_every() == 1


def test_fault_settings_validate_and_damage_is_what_it_says():
    faults = P1Faults(1)
    with pytest.raises(ValueError, match="unknown p1 fault setting"):
        faults.prepare({"corupt_rate": 0.1})
    with pytest.raises(ValueError, match="within"):
        faults.prepare({"corrupt_rate": 2})
    settings, actions = faults.prepare({"corrupt_rate": 0.5, "hang": True, "split": True})
    assert settings.corrupt_rate == 0.5 and settings.split and actions == {"hang"}
    start = datetime(2026, 4, 1, 12, 0, tzinfo=UTC)
    snap, printer = next(iter(printer_run(start, 1)))
    raw = printer.render(snap)
    rng = faults.shape_rng
    assert PARSER.parse(raw.decode("ascii"))
    assert damage(raw, "crc", rng) != raw and damage(raw, "crc", rng)[:-6] == raw[:-6]
    assert damage(raw, "bad_crc_field", rng).endswith(b"!XYZ\r\n")
    assert not damage(raw, "non_ascii", rng).isascii()


def test_control_endpoint_takes_p1_faults_and_reports_ground_truth():
    async def main():
        async with Simulator(SimulatorConfig(seed=4, speed=20)) as sim:
            api = sim.control_api

            async def call(method, name, body=None):
                data = json.dumps(body).encode() if body is not None else b""
                request = Request(method, f"/_sim/{name}", "HTTP/1.1", {}, data)
                response = await api.handle(request)
                return response.status, json.loads(response.body)

            status, body = await call("POST", "faults", {"p1": {"corrupt_rate": 0.25}})
            assert status == 200 and body["p1"]["corrupt_rate"] == 0.25
            status, body = await call("POST", "faults", {"error_rate": 0.1, "p1": {"nope": 1}})
            assert status == 400 and sim.faults.settings.error_rate == 0.0  # nothing changed
            reader, writer = await asyncio.open_connection(*sim.p1_address)
            data = await asyncio.wait_for(reader.readuntil(b"!"), 5)
            assert data.startswith(b"/FLU5")
            status, truth = await call("GET", "p1")
            assert status == 200 and truth["connections"] == 1 and truth["sent"]
            assert set(truth["sent"][0]) == {"t", "time", "kind", "clients", "sent_at", "captar"}
            writer.close()

    asyncio.run(main())
