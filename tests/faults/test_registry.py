"""The scenario registry is complete, and the simulator's ground truth is trustworthy.

The accounting of every scenario rests on `/_sim/served`; the last test pins the one property
it needs under faults: an answer the client gave up on (it timed out during an injected delay)
is not counted as served.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import pkgutil
from pathlib import Path

import httpx

import faults
from faults.accounting import GROUND_TRUTH
from faults.registry import SCENARIOS
from logger.testbed.simulator import FaultSettings, Simulator, SimulatorConfig

REQUIRED = {"influx_stop_and_crash", "influx_500_then_slow", "logger_kill_9_x20",
            "box_timeouts_5xx_garbage", "outbox_overflow", "system_clock_jumps",
            "clock_behind_no_rtc", "outage_in_repeated_hour", "finished_poll_durable_kill_9",
            "poisoned_device_id", "ledger_without_admin_rights", "restart_after_step_back"}


def load_all() -> None:
    for module in pkgutil.iter_modules([str(Path(faults.__file__).parent)]):
        if module.name.startswith("test_"):
            importlib.import_module(f"faults.{module.name}")


def test_every_issue_scenario_is_registered_with_a_budget_and_known_sources():
    load_all()
    assert set(SCENARIOS) >= REQUIRED
    for scenario in SCENARIOS.values():
        assert scenario.budget_s <= 150, scenario
        assert set(scenario.sources) <= set(GROUND_TRUTH), scenario


def test_an_answer_the_client_gave_up_on_is_not_counted_as_served():
    async def run() -> tuple[int, int]:
        config = SimulatorConfig(faults=FaultSettings(delay_endpoints={"meter": 0.6}))
        async with Simulator(config) as sim:
            async with httpx.AsyncClient(timeout=0.2) as client:
                for _ in range(3):
                    with contextlib.suppress(httpx.TimeoutException):
                        await client.get(f"{sim.local_url}/api/ems/meter")
                await asyncio.sleep(0.8)  # the delayed handlers finish after the client left
                gave_up = len(sim.served_meter_readings)
            async with httpx.AsyncClient(timeout=2.0) as client:
                response = await client.get(f"{sim.local_url}/api/ems/meter")
                assert response.status_code == 200
            return gave_up, len(sim.served_meter_readings)

    gave_up, after_patient_client = asyncio.run(run())
    assert gave_up == 0
    assert after_patient_client == 1
