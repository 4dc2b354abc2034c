"""Only strictly inside gaps: cloud samples on, just inside and just outside every edge.

The simulated cloud serves one sample a second, so for each gap (a, b) there are samples at
a-1, a, a+1, b-1, b and b+1. The expected result is computed here with plain integers from the
local points the test wrote and what the simulator serves (read with httpx and datetime), never
with the logger's gap code. The gaps sit on the autumn DST night of 2026 (the repeated hour) and
across a Belgian midnight, so two Belgian days are fetched, one of them 25 hours long.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import httpx
import pytest
from backfill_world import settings_for

from logger.app.backfill.command import backfill_by_hand
from logger.sources.cloud.client import CloudClient
from logger.testbed.simulator import Simulator, SimulatorConfig
from logger.testbed.simulator.cloud_api import CloudSimConfig

ZONE = ZoneInfo("Europe/Brussels")
NOW = datetime(2026, 10, 25, 1, 30, tzinfo=UTC)  # 02:30 CET, after the clocks went back


def utc(hh: int, mm: int, ss: int, day: int = 25) -> int:
    return int(datetime(2026, 10, day, hh, mm, ss, tzinfo=UTC).timestamp())


FIRST, LAST = utc(21, 40, 0, day=24), utc(1, 20, 0)
HOLES = [
    (utc(21, 59, 40, day=24), utc(22, 0, 25, day=24)),  # 23:59:40 .. 00:00:25 Belgian time
    (utc(23, 10, 0, day=24), utc(23, 10, 20, day=24)),  # 20 s, just over the threshold
    (utc(23, 30, 0, day=24), utc(23, 30, 15, day=24)),  # 15 s: the threshold, not a gap
    (utc(0, 58, 0), utc(1, 2, 30)),  # 02:58 CEST .. 02:02:30 CET, across the repeated hour
]
METER_INSIDE = utc(22, 0, 5, day=24)  # the meter answered once inside the first hole


def local_times() -> list[int]:
    return [t for t in range(FIRST, LAST + 1, 5) if not any(a < t < b for a, b in HOLES)]


async def served_grid(sim: Simulator, token: str) -> set[int]:
    ident = sim.cloud_api.config.installation_id
    times: set[int] = set()
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"}) as http:
        for day in (24, 25):
            answer = await http.get(f"{sim.cloud_url}/history/recent/{ident}/grid/power/2026/10/"
                                    f"{day}")
            times |= {int(datetime.fromisoformat(s["timestamp"]).timestamp())
                      for s in answer.json()["data"]}
    return times


@pytest.mark.integration
def test_only_samples_strictly_inside_each_gap_are_written_across_midnight_and_dst(
        influxd, influx_db, tmp_path, token, caplog):
    caplog.set_level(logging.DEBUG)
    local = local_times()
    expected_gaps = [(a, b) for a, b in itertools.pairwise(local) if b - a > 15]
    assert expected_gaps == [HOLES[0], HOLES[1], HOLES[3]]
    lines = [f"power_flow,installation=test,source=local grid_w=100.0 {t}" for t in local]
    lines += [f"meter,installation=test,meter_id=M power_import_w=1.0 {t}"
              for t in [*local, METER_INSIDE]]
    influxd.write(influx_db, "\n".join(lines))
    config = SimulatorConfig(seed=4, start=NOW, speed=0, devices=frozenset({"solar"}),
                             cloud=CloudSimConfig(token=token, resolution=1, history_days=1))

    async def main():
        async with Simulator(config) as sim:
            served = await served_grid(sim, token)
            asked = len(sim.cloud_api.requests)
            settings = settings_for(influxd, influx_db, tmp_path, sim.cloud_url, token,
                                    sim.cloud_api.config.installation_id)
            client = CloudClient(sim.cloud_url, token, backoff=0.05)
            since = datetime.fromtimestamp(FIRST, UTC)
            until = datetime.fromtimestamp(LAST + 1, UTC)
            result = await backfill_by_hand(settings, since, until, False, client=client)
            return served, result, [p for p, _ in sim.cloud_api.requests[asked:]]

    served, result, requests = asyncio.run(main())
    for a, b in expected_gaps:  # the simulated cloud has a sample on and around every edge
        assert {a - 1, a, a + 1, b - 1, b, b + 1} <= served
    report = result.report
    assert result.ok and report is not None and result.left == 0
    assert [(g.gap.start, g.gap.end) for g in report.gaps] == expected_gaps
    assert report.meter_gaps == 2  # the meter answered inside the first hole
    assert len(requests) == 2 * 4  # two Belgian days, four devices each, no discovery
    assert sorted({p.rsplit("/", 1)[-1] for p in requests}) == ["24", "25"]

    stored = [r["time"] for r in influxd.points(influx_db, "power_flow", "source='cloud'")]
    expected = sorted(t for t in served if any(a < t < b for a, b in expected_gaps))
    assert stored == expected
    assert len(expected) == sum(b - a - 1 for a, b in expected_gaps)
    assert token not in caplog.text
