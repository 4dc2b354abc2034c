"""Receive-time points against the simulated box when the host clock is 40 minutes behind.

The simulator runs on true time (its meter prints it); the collector is told a host time 40
minutes in the past, as a Raspberry Pi without RTC has it after a power cut. The oracle is the
test's own wall clock at each poll, not the collector.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime, timedelta

from logger.core.problems import Problems
from logger.sources.local.collector import LocalCollector
from logger.testbed.simulator import Simulator, SimulatorConfig

BEHIND = timedelta(minutes=40)
RECEIVED = ("solar", "battery", "power_flow")


async def poll_behind(collector: LocalCollector) -> tuple[float, list]:
    """One poll with the host clock 40 minutes behind; returns the true time it started."""
    true_start = time.time()
    result = await collector.poll(received_at=datetime.now(UTC) - BEHIND)
    return true_start, result.points


def check_at_true_time(points, true_start: float) -> None:
    for point in points:
        if point.measurement in RECEIVED:
            assert abs(point.time_s - true_start) <= 1.5, (point, true_start)


def test_receive_time_points_are_stamped_from_the_meter_clock_not_a_host_clock_behind():
    async def scenario():
        async with Simulator(SimulatorConfig(seed=4)) as sim:
            collector = LocalCollector(sim.local_url, "home", 2.0,
                                       Problems(logging.getLogger("test")))
            try:
                for _ in range(3):
                    true_start, points = await poll_behind(collector)
                    assert {p.measurement for p in points} >= {"meter", *RECEIVED}
                    check_at_true_time(points, true_start)
                    await asyncio.sleep(1.0)
            finally:
                await collector.close()

    asyncio.run(scenario())


def test_while_the_meter_cannot_vouch_receive_time_points_are_held_then_stamped_right():
    async def scenario():
        async with Simulator(SimulatorConfig(seed=4)) as sim:
            collector = LocalCollector(sim.local_url, "home", 0.5,
                                       Problems(logging.getLogger("test")))
            starts = []
            try:
                sim.faults.update({"delay_endpoints": {"meter": 3.0}})  # the meter times out
                for _ in range(2):
                    true_start, points = await poll_behind(collector)
                    starts.append(true_start)
                    assert points == [], "nothing can be stamped yet"
                    await asyncio.sleep(1.0)
                assert collector.stamper.held == 2
                sim.faults.update({"delay_endpoints": {"meter": None}})
                true_start, points = await poll_behind(collector)
            finally:
                await collector.close()
            return [*starts, true_start], points

    starts, points = asyncio.run(scenario())
    flows = sorted(p.time_s for p in points if p.measurement == "power_flow")
    solar = sorted(p.time_s for p in points if p.measurement == "solar")
    # The last poll had a meter, the two held ones did not (no grid): only it has power_flow.
    assert len(flows) == 1 and abs(flows[0] - starts[-1]) <= 1.5
    assert len(solar) == 3
    for stamped, started in zip(solar, starts, strict=True):
        assert abs(stamped - started) <= 1.5, (solar, starts)
