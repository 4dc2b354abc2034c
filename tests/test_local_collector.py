"""The local collector against the simulated box: tolerant, concurrent, never crashing."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime

import pytest

from logger.core.problems import Problems
from logger.sources.local.collector import LocalCollector, Status
from logger.testbed.simulator import Simulator, SimulatorConfig
from logger.testbed.simulator.faults import FaultSettings


def collect(config: SimulatorConfig, polls: int = 1, timeout: float = 2.0, between: float = 0.0):
    async def scenario():
        async with Simulator(config) as sim:
            collector = LocalCollector(sim.local_url, "home", timeout, Problems(
                logging.getLogger("test")))
            results = []
            try:
                for _ in range(polls):
                    started = time.monotonic()
                    result = await collector.poll()
                    results.append((result, time.monotonic() - started))
                    await asyncio.sleep(between)
            finally:
                await collector.close()
            return results, collector, list(sim.served_meter_times)

    return asyncio.run(scenario())


def measurements(result) -> dict[str, int]:
    counts: dict[str, int] = {}
    for point in result.points:
        counts[point.measurement] = counts.get(point.measurement, 0) + 1
    return counts


def test_a_healthy_box_yields_every_measurement_it_has():
    config = SimulatorConfig(devices=frozenset({"solar", "battery", "charger", "plug"}))
    [(result, _)], _, served = collect(config)
    assert measurements(result) == {"meter": 1, "solar": 1, "battery": 1, "charger": 1,
                                    "plug": 1, "power_flow": 1}
    meter = next(p for p in result.points if p.measurement == "meter")
    assert meter.time == served[0]


@pytest.mark.parametrize("style", ["404", "empty-list", "empty-object"])
def test_absent_device_types_write_nothing_and_are_not_errors(style):
    config = SimulatorConfig(devices=frozenset({"solar"}), absent_style=style)
    [(result, _)], collector, _ = collect(config)
    assert set(measurements(result)) == {"meter", "solar", "power_flow"}
    assert collector.problems.total() == 0
    flow = next(p for p in result.points if p.measurement == "power_flow").field_dict
    assert flow["battery_w"] == 0.0 and flow["car_w"] == 0.0


def test_a_slow_endpoint_does_not_delay_the_others():
    faults = FaultSettings(delay_endpoints={"battery": 10.0})
    [(result, elapsed)], collector, _ = collect(SimulatorConfig(faults=faults), timeout=1.0)
    assert elapsed < 3.0
    assert result.endpoints["battery"].status is Status.FAILED
    assert {"meter", "solar"} <= set(measurements(result))
    flow = next(p for p in result.points if p.measurement == "power_flow").field_dict
    assert "battery_w" not in flow and "home_w" not in flow  # unknown, not guessed
    assert collector.problems.counts["local_battery_failed"] == 1


def test_server_errors_and_invalid_json_are_counted_not_raised():
    faults = FaultSettings(error_rate=0.3, invalid_json_rate=0.3)
    results, collector, served = collect(SimulatorConfig(seed=4, faults=faults), polls=12,
                                         between=1.05)
    failed = sum(
        1 for result, _ in results for e in result.endpoints.values()
        if e.status is Status.FAILED
    )
    assert failed > 0
    assert collector.problems.total() == failed
    meter_points = [p for result, _ in results for p in result.points if p.measurement == "meter"]
    assert [p.time for p in meter_points] == served  # every valid reading, nothing else


def test_wrapped_payloads_and_numbers_as_strings_give_the_same_points():
    plain = collect(SimulatorConfig(seed=9, speed=0, start=datetime(2026, 6, 1, 10, tzinfo=UTC)))
    quirky = collect(SimulatorConfig(
        seed=9, speed=0, start=datetime(2026, 6, 1, 10, tzinfo=UTC),
        faults=FaultSettings(wrap_data=True, numbers_as_strings=True)))
    fields = lambda run: sorted((p.measurement, p.fields) for p in run[0][0][0].points)  # noqa: E731
    assert fields(plain) == fields(quirky)


def test_the_same_meter_time_is_written_once():
    config = SimulatorConfig(speed=0, start=datetime(2026, 6, 1, 10, tzinfo=UTC))
    results, _, _ = collect(config, polls=3)
    meter_points = [p for result, _ in results for p in result.points if p.measurement == "meter"]
    assert len(meter_points) == 1


def test_the_autumn_repeated_hour_keeps_meter_time_moving_forward():
    start = datetime(2026, 10, 24, 23, 50, tzinfo=UTC)  # 01:50 CEST, before the change
    config = SimulatorConfig(start=start, speed=500)
    results, _, served = collect(config, polls=20, between=0.5)
    times = [p.time for result, _ in results for p in result.points if p.measurement == "meter"]
    assert times == served
    assert times == sorted(set(times))
    # Both passes through 02:xx local time were logged, each at its own UTC instant.
    assert any(datetime(2026, 10, 25, 0, 0, tzinfo=UTC) <= t < datetime(2026, 10, 25, 1, 0,
               tzinfo=UTC) for t in times)
    assert any(datetime(2026, 10, 25, 1, 0, tzinfo=UTC) <= t < datetime(2026, 10, 25, 2, 0,
               tzinfo=UTC) for t in times)
