"""Tests of the fake Jullix box: model physics, exact formats, and the real HTTP server."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import socket
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from logger.testbed.simulator import (
    BRUSSELS,
    FaultSettings,
    HouseModel,
    InstallationFeatures,
    SimClock,
    Simulator,
    SimulatorConfig,
    add_simulate_arguments,
    config_from_args,
    serve_forever,
)
from logger.testbed.simulator.local_api import dumps, format_float, local_time_string

SUMMER_NOON = datetime(2026, 6, 17, 11, 0, tzinfo=UTC)  # Wednesday 13:00 local
METER_KEYS = ["meter", "time", "energy", "power", "captar", "voltage", "gas", "water", "tariff"]


def run(coro_fn: Callable[..., Awaitable[Any]], config: SimulatorConfig | None = None) -> Any:
    """Start a simulator, run `coro_fn(sim, client)` against it, stop it."""

    async def main() -> Any:
        async with (
            Simulator(config or SimulatorConfig(start=SUMMER_NOON, speed=0)) as sim,
            httpx.AsyncClient(base_url=sim.local_url, timeout=5) as client,
        ):
            return await coro_fn(sim, client)

    return asyncio.run(main())


# ------------------------------------------------------------------- formatting


def test_float32_17_digit_formatting() -> None:
    # Every number of the real samples (reference §1) is reproduced byte for byte.
    assert format_float(2.799) == "2.7990000247955322"
    assert format_float(14808.846) == "14808.845703125"
    assert format_float(232.8) == "232.80000305175781"
    assert format_float(4594.657) == "4594.6572265625"
    assert format_float(50.600002288818359) == "50.600002288818359"
    assert format_float(0.01) == "0.00999999977648258"
    assert format_float(232.5) == "232.5"
    assert format_float(0.0) == "0"
    assert format_float(-0.0) == "0"
    assert format_float(10.0) == "10"
    for text in ("506.20001220703125", "504.80001831054688", "3986.68603515625", "954.5"):
        assert format_float(float(text)) == text
    assert dumps({"power": {"in": 2.799, "out": 0.0}, "fault": 0, "t": "x", "ok": False}) == (
        '{"power":{"in":2.7990000247955322,"out":0},"fault":0,"t":"x","ok":false}'
    )
    assert dumps([1.5, 3], numbers_as_strings=True) == '["1.5","3"]'


def test_local_time_string_brussels() -> None:
    assert local_time_string(int(datetime(2025, 5, 18, 19, 14, 32, tzinfo=UTC).timestamp())) == (
        "250518211432"
    )
    assert local_time_string(int(datetime(2026, 1, 5, 12, 0, tzinfo=UTC).timestamp())) == (
        "260105130000"
    )
    # The autumn repeated hour: 00:00-01:00 UTC and 01:00-02:00 UTC both print 02:xx local.
    start = int(datetime(2026, 10, 25, 0, 0, tzinfo=UTC).timestamp())
    strings = [local_time_string(start + m * 60) for m in range(120)]
    assert strings[0] == "261025020000" and strings[60] == "261025020000"
    assert len(set(strings)) == 60


# ------------------------------------------------------------------------ clock


def test_clock_speed_set_jump() -> None:
    now = [100.0]
    clock = SimClock(SUMMER_NOON, speed=60, monotonic=lambda: now[0])
    assert clock.now() == SUMMER_NOON
    now[0] += 2
    assert clock.now() == SUMMER_NOON + timedelta(minutes=2)
    clock.jump(30)
    assert clock.now() == SUMMER_NOON + timedelta(minutes=2, seconds=30)
    clock.set(SUMMER_NOON)
    assert clock.now() == SUMMER_NOON
    clock.set_speed(0)
    now[0] += 100
    assert clock.now() == SUMMER_NOON
    assert clock.now().tzinfo is UTC
    with pytest.raises(ValueError):
        SimClock(datetime(2026, 1, 1), 1.0)
    real = SimClock(None, 1.0).now()
    assert abs((real - datetime.now(UTC)).total_seconds()) < 5


# ------------------------------------------------------------------------ model

FULL = InstallationFeatures(charger=True, plug=True, inverters=2)


def test_model_deterministic_regardless_of_polling() -> None:
    start = datetime(2026, 3, 11, 17, 0, tzinfo=UTC)
    a = HouseModel(7, FULL, start)
    b = HouseModel(7, FULL, start)
    for _ in range(1800):
        a.advance_by(1)
        a.snapshot()
    b.advance_by(1000)
    b.advance_by(800)
    assert a.snapshot() == b.snapshot()
    c = HouseModel(8, FULL, start)
    c.advance_by(1800)
    assert c.snapshot() != a.snapshot()
    # Asking for the past does not rewind.
    assert a.advance_to(start) == a.snapshot()


def test_counters_are_exact_integrals_of_power() -> None:
    m = HouseModel(3, FULL, datetime(2026, 6, 17, 4, 0, tzinfo=UTC))
    prev = m.snapshot()
    imp = [0, 0]
    exp = [0, 0]
    pv = charged = discharged = 0
    for _ in range(4 * 3600):
        s = m.advance_by(1)
        assert s.grid_w == s.house_w + s.car_w - s.pv_w - s.battery_w
        assert s.import_w * s.export_w == 0 and s.import_w - s.export_w == s.grid_w
        imp[s.tariff - 1] += s.import_w
        exp[s.tariff - 1] += s.export_w
        pv += s.pv_w
        charged += max(-s.battery_w, 0)
        discharged += max(s.battery_w, 0)
        for before, after in zip(
            (*prev.import_j, *prev.export_j, prev.gas_ml, prev.water_ml),
            (*s.import_j, *s.export_j, s.gas_ml, s.water_ml),
            strict=True,
        ):
            assert after >= before
    first = HouseModel(3, FULL, datetime(2026, 6, 17, 4, 0, tzinfo=UTC)).snapshot()
    assert [s.import_j[i] - first.import_j[i] for i in range(2)] == imp
    assert [s.export_j[i] - first.export_j[i] for i in range(2)] == exp
    assert sum(s.pv_energy_j) - sum(first.pv_energy_j) == pv
    assert s.battery_charged_j - first.battery_charged_j == charged
    assert s.battery_discharged_j - first.battery_discharged_j == discharged
    assert s.gas_ml > first.gas_ml


def test_tariff_switch_at_22_and_07_local_on_weekdays() -> None:
    # Tuesday 2026-03-10; the snapshot at t carries the step [t-1, t).
    start = datetime(2026, 3, 10, 21, 0, tzinfo=BRUSSELS)
    m = HouseModel(1, InstallationFeatures(solar=False, battery=False), start)

    def at(h: int, mi: int, s: int = 0, day: int = 10) -> Any:
        return m.advance_to(datetime(2026, 3, day, h, mi, s, tzinfo=BRUSSELS))

    a = at(21, 59, 59)
    assert a.tariff == 1
    b = at(22, 0, 0)
    assert b.tariff == 1 and b.import_j[1] == a.import_j[1]  # last day second
    c = at(22, 0, 1)
    assert c.tariff == 2 and c.import_j[0] == b.import_j[0] and c.import_j[1] > b.import_j[1]
    d = at(6, 59, 59, day=11)
    assert d.tariff == 2 and d.import_j[0] == b.import_j[0]
    seven = at(7, 0, 0, day=11)
    assert seven.tariff == 2  # the step 06:59:59-07:00:00 is still night
    e = at(7, 0, 1, day=11)
    assert e.tariff == 1
    f = at(9, 0, 0, day=11)
    assert f.tariff == 1 and f.import_j[0] > d.import_j[0]
    assert f.import_j[1] == seven.import_j[1]  # the night counter stands still by day
    # Weekend: night tariff all day (Saturday 2026-03-14 noon).
    w = HouseModel(1, InstallationFeatures(), datetime(2026, 3, 14, 12, 0, tzinfo=BRUSSELS))
    assert all(w.advance_by(600).tariff == 2 for _ in range(10))


def test_solar_follows_the_sun() -> None:
    for seed in (1, 2, 3, 4, 5):
        night = HouseModel(seed, FULL, datetime(2026, 6, 17, 1, 30, tzinfo=UTC))
        assert night.snapshot().pv_w == 0 and night.advance_by(600).pv_w == 0
        winter_night = HouseModel(seed, FULL, datetime(2026, 12, 17, 17, 30, tzinfo=UTC))
        assert winter_night.snapshot().pv_w == 0
        noon = HouseModel(seed, FULL, SUMMER_NOON)
        values = [noon.advance_by(60).pv_w for _ in range(30)]
        assert min(values) > 0 and max(values) > 1500
        assert all(v <= FULL.pv_peak_w for v in values)
        s = noon.snapshot()
        assert sum(s.pv_inverter_w) == s.pv_w and len(s.pv_inverter_w) == 2


def test_battery_soc_bounds_and_charging_from_surplus() -> None:
    summer = datetime(2026, 6, 17, 4, 0, tzinfo=UTC)
    for start, hours in ((summer, 16), (datetime(2026, 1, 14, 0, 0, tzinfo=UTC), 12)):
        m = HouseModel(2, InstallationFeatures(), start)
        charged_from_surplus = 0
        for _ in range(hours * 60):
            s = m.advance_by(60)
            assert 10.0 - 1e-6 <= s.soc_pct <= 100.0 + 1e-6
            assert abs(s.battery_w) <= 5000
            if s.pv_w > s.house_w + 200 and s.soc_pct < 99:
                assert s.battery_w < 0  # surplus charges the battery
                charged_from_surplus += 1
            if s.battery_w < 0:
                assert s.pv_w > 0  # only PV charges it
        if start == summer:
            assert charged_from_surplus > 0


def test_captar_month_max_on_quarter_hours() -> None:
    m = HouseModel(1, FULL, datetime(2026, 3, 10, 16, 0, tzinfo=UTC))
    for _ in range(8 * 4):
        s = m.advance_by(900)
        assert s.captar_month_max_t % 900 == 0
        assert s.captar_month_max_w >= 0
    # The car charges at 11 kW in the evening of some day; the peak must reflect imports.
    assert s.captar_month_max_w > 0


# ------------------------------------------------------------------ local API


def test_meter_solar_battery_shapes() -> None:
    cfg = SimulatorConfig(
        start=SUMMER_NOON,
        speed=0,
        devices={"solar", "battery", "charger", "plug"},
        inverters=2,
        unreported_phase="l2",
        water=False,
    )

    async def go(sim: Simulator, c: httpx.AsyncClient) -> None:
        r = await c.get("/api/ems/meter")
        assert r.status_code == 200 and r.headers["content-type"] == "application/json"
        meter = r.json()
        assert list(meter) == METER_KEYS
        assert meter["meter"] == "1SAG3101021605"
        assert meter["time"] == "260617130000"
        assert list(meter["energy"]) == ["in_1", "in_2", "out_1", "out_2"]
        assert list(meter["captar"]) == ["actual", "month_max_value", "month_max_time"]
        assert meter["power"]["in"] == 0 or meter["power"]["out"] == 0
        assert meter["voltage"]["l2"] == 0 and 200 < meter["voltage"]["l1"] < 260
        assert meter["water"] == 0 and meter["tariff"] == 0
        assert '"tariff":0}' in r.text and '"l2":0,' in r.text

        solar = (await c.get("/api/ems/solar")).json()
        assert [(d["id"], d["localid"]) for d in solar] == [
            (sim.model.inverter_id, "A01"),
            (sim.model.inverter_id, "T01"),
        ]
        assert sim.model.inverter_id.startswith("SA1ES1")
        assert list(solar[0]) == [
            "id",
            "localid",
            "device",
            "power",
            "energy",
            "fault",
            "direct_timeout",
        ]
        battery = (await c.get("/api/ems/battery")).json()
        assert len(battery) == 1 and battery[0]["localid"] == "A01"
        assert battery[0]["id"] == solar[0]["id"] and battery[0]["device"] == solar[0]["device"]
        assert list(battery[0]["battery"]) == ["voltage", "soc", "fault"]
        snap = sim.model.snapshot()
        assert battery[0]["power"] == pytest.approx(snap.battery_w / 1000, abs=0.006)
        charger = (await c.get("/api/ems/charger")).json()
        assert {
            "power",
            "soc",
            "temperature",
            "max_current",
            "state",
            "busy",
            "three_phase",
        } <= set(charger[0])
        plug = (await c.get("/api/ems/plug")).json()
        assert list(plug[0]) == ["id", "power", "plug_state"]
        assert (await c.get("/api/ems/nothing")).status_code == 404
        assert (await c.post("/api/ems/meter")).status_code == 405

    run(go, cfg)


@pytest.mark.parametrize(
    ("style", "status", "body"),
    [("404", 404, None), ("empty-list", 200, []), ("empty-object", 200, {})],
)
def test_absent_devices(style: str, status: int, body: Any) -> None:
    cfg = SimulatorConfig(start=SUMMER_NOON, speed=0, devices=set(), absent_style=style)  # type: ignore[arg-type]

    async def go(sim: Simulator, c: httpx.AsyncClient) -> None:
        assert (await c.get("/api/ems/meter")).status_code == 200
        for ep in ("solar", "battery", "charger", "plug"):
            r = await c.get(f"/api/ems/{ep}")
            assert r.status_code == status
            if body is not None:
                assert r.json() == body

    run(go, cfg)


def test_a_device_type_can_disappear_and_come_back_at_runtime() -> None:
    cfg = SimulatorConfig(start=SUMMER_NOON, speed=0, devices={"solar", "battery"})

    async def go(sim: Simulator, c: httpx.AsyncClient) -> None:
        assert (await c.get("/api/ems/solar")).status_code == 200
        r = await c.post("/_sim/faults", json={"absent": ["solar"]})
        assert r.status_code == 200 and r.json()["absent"] == ["solar"]
        assert (await c.get("/api/ems/solar")).status_code == 404
        assert (await c.get("/api/ems/battery")).status_code == 200
        assert (await c.post("/_sim/faults", json={"absent": ["meter"]})).status_code == 400
        await c.post("/_sim/faults", json={"absent": []})
        assert (await c.get("/api/ems/solar")).status_code == 200

    run(go, cfg)


def test_served_accounting_matches_energy_over_time() -> None:
    """Poll every simulated second; the served counters move by the served powers."""

    async def go(sim: Simulator, c: httpx.AsyncClient) -> list[dict[str, Any]]:
        for _ in range(300):
            await c.get("/api/ems/meter")
            await c.get("/api/ems/meter")  # same second twice: recorded once
            sim.clock.jump(1)
        return (await c.get("/_sim/served")).json()

    cfg = SimulatorConfig(start=datetime(2026, 6, 17, 18, 0, tzinfo=UTC), speed=0, seed=5)
    served = run(go, cfg)
    assert len(served) == 300
    utcs = [datetime.fromisoformat(r["utc"]) for r in served]
    assert all(b - a == timedelta(seconds=1) for a, b in itertools.pairwise(utcs))
    e0, e1 = served[0]["values"]["energy"], served[-1]["values"]["energy"]
    imported = sum(r["values"]["power"]["in"] for r in served[1:]) / 3600  # kWh
    exported = sum(r["values"]["power"]["out"] for r in served[1:]) / 3600
    d_in = e1["in_1"] + e1["in_2"] - e0["in_1"] - e0["in_2"]
    d_out = e1["out_1"] + e1["out_2"] - e0["out_1"] - e0["out_2"]
    # float32 steps are ~0.002 kWh at these magnitudes, plus the 1 Wh register floor.
    assert d_in == pytest.approx(imported, abs=0.006)
    assert d_out == pytest.approx(exported, abs=0.006)
    for r in served:
        assert r["time"] == local_time_string(int(datetime.fromisoformat(r["utc"]).timestamp()))


def test_autumn_dst_repeated_hour_served_times() -> None:
    parser = argparse.ArgumentParser()
    add_simulate_arguments(parser)
    args = parser.parse_args(["--start", "2026-10-25T01:59:00+01:00", "--speed", "120"])
    cfg = config_from_args(args)

    async def go(sim: Simulator, c: httpx.AsyncClient) -> list[dict[str, Any]]:
        deadline = time.monotonic() + 1.6
        while time.monotonic() < deadline:
            assert (await c.get("/api/ems/meter")).status_code == 200
        return (await c.get("/_sim/served")).json()

    served = run(go, cfg)
    utcs = [datetime.fromisoformat(r["utc"]) for r in served]
    assert all(a < b for a, b in itertools.pairwise(utcs))
    times = [r["time"] for r in served]
    assert times[0].startswith("26102502")  # 02:59 CEST ...
    start = datetime(2026, 10, 25, 0, 59, tzinfo=UTC)
    assert timedelta(0) <= utcs[0] - start < timedelta(seconds=60)
    assert any(b < a for a, b in itertools.pairwise(times))  # ... then 02:0x CET
    for r, utc in zip(served, utcs, strict=True):
        naive = datetime.strptime(r["time"], "%y%m%d%H%M%S")
        fold = 1 if utc >= datetime(2026, 10, 25, 1, 0, tzinfo=UTC) else 0
        assert naive.replace(tzinfo=BRUSSELS, fold=fold).astimezone(UTC) == utc


def test_simulator_state_and_served_property() -> None:
    async def go(sim: Simulator, c: httpx.AsyncClient) -> None:
        await c.get("/api/ems/meter")
        state = (await c.get("/_sim/state")).json()
        assert state["utc"] == SUMMER_NOON.isoformat()
        assert state["power_w"]["grid"] == (
            state["power_w"]["house"]
            + state["power_w"]["car"]
            - state["power_w"]["pv"]
            - state["power_w"]["battery"]
        )
        assert sim.served_meter_times == [SUMMER_NOON]
        r = await c.post("/_sim/clock", json={"jump_seconds": 60})
        assert r.json()["utc"].startswith("2026-06-17T11:01:00")
        assert (await c.post("/_sim/clock", json={"set": "2020-01-01T00:00:00"})).status_code == 400

    run(go)


# ----------------------------------------------------------------------- faults


def test_fault_rates_and_quirks_over_http() -> None:
    async def go(sim: Simulator, c: httpx.AsyncClient) -> None:
        r = await c.post("/_sim/faults", json={"error_rate": 0.3})
        assert r.json()["error_rate"] == 0.3
        codes = [(await c.get("/api/ems/solar")).status_code for _ in range(200)]
        errors = sum(1 for code in codes if code >= 500)
        assert 35 <= errors <= 85 and set(codes) <= {200, 500}

        await c.post("/_sim/faults", json={"error_rate": 0, "invalid_json_rate": 1})
        r = await c.get("/api/ems/meter")
        assert r.status_code == 200
        with pytest.raises(json.JSONDecodeError):
            json.loads(r.text)
        assert sim.served_meter_readings == []  # broken answers are not "served"

        await c.post("/_sim/faults", json={"invalid_json_rate": 0, "wrap_data": True})
        assert list((await c.get("/api/ems/battery")).json()) == ["data"]
        await c.post("/_sim/faults", json={"wrap_data": False, "numbers_as_strings": True})
        meter = (await c.get("/api/ems/meter")).json()
        assert isinstance(meter["energy"]["in_1"], str) and isinstance(meter["tariff"], str)
        float(meter["power"]["in"])

        r = await c.post("/_sim/faults", json={"no_such_setting": 1})
        assert r.status_code == 400 and "no_such_setting" in r.json()["error"]
        assert (await c.post("/_sim/faults", json={"error_rate": 2})).status_code == 400
        r = await c.post("/_sim/faults", json={"reset": True})
        assert r.json()["numbers_as_strings"] is False

    run(go)


def test_fault_rates_are_deterministic_for_a_seed() -> None:
    async def go(sim: Simulator, c: httpx.AsyncClient) -> list[int]:
        return [(await c.get("/api/ems/meter")).status_code for _ in range(50)]

    cfg = lambda: SimulatorConfig(  # noqa: E731
        start=SUMMER_NOON, speed=0, faults=FaultSettings(error_rate=0.5, error_status=503)
    )
    first, second = run(go, cfg()), run(go, cfg())
    assert first == second and set(first) == {200, 503}


def test_delay_and_force_down() -> None:
    async def go(sim: Simulator, c: httpx.AsyncClient) -> None:
        await c.post("/_sim/faults", json={"delay_endpoints": {"meter": 0.4}})
        t0 = time.monotonic()
        assert (await c.get("/api/ems/solar")).status_code == 200
        assert time.monotonic() - t0 < 0.3
        t0 = time.monotonic()
        assert (await c.get("/api/ems/meter")).status_code == 200
        assert time.monotonic() - t0 >= 0.4
        with pytest.raises(httpx.ReadTimeout):
            await c.get("/api/ems/meter", timeout=0.1)
        await c.post("/_sim/faults", json={"delay_endpoints": {"meter": None}})

        await c.post("/_sim/faults", json={"down_seconds": 0.5})
        assert (await c.get("/api/ems/meter")).status_code == 503
        await asyncio.sleep(0.6)
        assert (await c.get("/api/ems/meter")).status_code == 200
        await c.post("/_sim/faults", json={"down_seconds": 30, "down_mode": "close"})
        with pytest.raises(httpx.RemoteProtocolError):
            await c.get("/api/ems/meter")
        await c.post("/_sim/faults", json={"down_seconds": 0})
        assert (await c.get("/api/ems/meter")).status_code == 200

    run(go)


# ------------------------------------------------------------------ HTTP server


def test_keep_alive_and_malformed_requests_raw_socket() -> None:
    async def go(sim: Simulator, c: httpx.AsyncClient) -> None:
        port = int(sim.local_url.rsplit(":", 1)[1])

        def exchange() -> tuple[bytes, bytes]:
            with socket.create_connection(("127.0.0.1", port), timeout=3) as s:
                req = b"GET /api/ems/meter HTTP/1.1\r\nHost: x\r\n\r\n"
                s.sendall(req + req)
                data = b""
                while data.count(b"HTTP/1.1 200") < 2:
                    chunk = s.recv(65536)
                    assert chunk
                    data += chunk
                s.sendall(b"BROKEN\r\n\r\n")
                rest = b""
                while chunk := s.recv(65536):
                    rest += chunk  # the server answers 400 and closes
            return data, rest

        data, rest = await asyncio.to_thread(exchange)
        assert data.count(b"Connection: keep-alive") == 2
        assert rest.startswith(b"HTTP/1.1 400") and b"Connection: close" in rest

    run(go)


# -------------------------------------------------------------------------- CLI


def test_cli_flags() -> None:
    parser = argparse.ArgumentParser()
    add_simulate_arguments(parser)
    args = parser.parse_args(
        [
            "--seed",
            "9",
            "--start",
            "2026-10-25T02:30:00",
            "--speed",
            "60",
            "--local-port",
            "0",
            "--devices",
            "solar,battery,charger,plug",
            "--absent-style",
            "empty-list",
            "--inverters",
            "2",
            "--no-water",
            "--delay",
            "0.5",
            "--delay-endpoint",
            "meter=2",
            "--delay-endpoint",
            "plug=0",
            "--error-rate",
            "0.1",
            "--invalid-json-rate",
            "0.2",
            "--wrap-data",
            "--numbers-as-strings",
        ]
    )
    cfg = config_from_args(args)
    assert cfg.seed == 9 and cfg.speed == 60 and cfg.inverters == 2 and not cfg.water
    assert cfg.start == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # naive = Brussels, fold 0
    assert cfg.devices == {"solar", "battery", "charger", "plug"}
    assert cfg.absent_style == "empty-list" and cfg.host == "127.0.0.1"
    f = cfg.faults
    assert (f.delay, f.delay_endpoints) == (0.5, {"meter": 2.0, "plug": 0.0})
    assert (f.error_rate, f.invalid_json_rate, f.wrap_data, f.numbers_as_strings) == (
        0.1,
        0.2,
        True,
        True,
    )
    default = config_from_args(parser.parse_args([]))
    assert default.devices == {"solar", "battery"} and default.start is None
    for bad in (["--devices", "solar,toaster"], ["--error-rate", "1.5"], ["--delay-endpoint", "x"]):
        with pytest.raises(SystemExit):
            parser.parse_args(bad)


def test_serve_forever_prints_url_and_stops_on_cancel(capsys: pytest.CaptureFixture[str]) -> None:
    async def main() -> None:
        task = asyncio.create_task(serve_forever(SimulatorConfig(start=SUMMER_NOON, speed=0)))
        out = ""
        for _ in range(100):
            out += capsys.readouterr().out
            if "http://127.0.0.1:" in out:
                break
            await asyncio.sleep(0.02)
        url = out.split("local API ", 1)[1].split("/api/ems/", 1)[0]
        async with httpx.AsyncClient(base_url=url) as c:
            assert (await c.get("/api/ems/meter")).json()["time"] == "260617130000"
            task.cancel()  # stop while the client still holds a keep-alive connection
            with contextlib.suppress(asyncio.CancelledError):
                await task
        assert out.count("\n") == 1

    asyncio.run(main())
