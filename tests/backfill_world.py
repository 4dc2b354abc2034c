"""A real InfluxDB and the simulator in process, with a local series that has one gap: what the
backfill tests share. The cloud token of every test must appear in no log record (each test
module has a `checked_logs` fixture for that).
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx

from logger.app.backfill.command import backfill_by_hand
from logger.config import Settings
from logger.sink.gaps import Gap
from logger.sources.cloud.client import CloudClient
from logger.testbed.influxd import InfluxServer
from logger.testbed.simulator import Simulator, SimulatorConfig
from logger.testbed.simulator.cloud_api import CloudSimConfig

LOCAL_INTERVAL = 5
ZONE = ZoneInfo("Europe/Brussels")  # the oracle's own, not logger.core.belgian_time


def settings_for(influxd: InfluxServer, db: str, tmp_path: Path, cloud_url: str, token: str,
                 installation_id: str | None = None) -> Settings:
    return Settings(
        installation="test",
        local={"interval": LOCAL_INTERVAL},
        cloud={"enabled": True, "url": cloud_url, "token": token,
               "installation_id": installation_id},
        influx={"url": influxd.url, "database": db, "timeout": 5.0},
        outbox={"path": str(tmp_path / "outbox.sqlite")},
    )


class BackfillStopped(Exception):
    """The command stopped before it had a report (a revoked token, say)."""


class World:
    """A frozen simulator (speed 0, started now), local power_flow points with one gap."""

    def __init__(self, influxd, db, tmp_path, token, sim, pinned=False):
        self.influxd, self.db, self.sim = influxd, db, sim
        ident = sim.cloud_api.config.installation_id if pinned else None
        self.settings = settings_for(influxd, db, tmp_path, sim.cloud_url, token, ident)
        self.token = token
        start = int(sim.clock.timestamp())
        start -= start % LOCAL_INTERVAL
        self.local = [t for t in range(start - 1800, start - 60, LOCAL_INTERVAL)
                      if not start - 1200 < t < start - 900]
        self.gap = Gap(start - 1200, start - 900)
        lines = [f"power_flow,installation=test,source=local grid_w=100.0 {t}"
                 for t in self.local]
        lines += [f"meter,installation=test,meter_id=M power_import_w=100.0 {t}"
                  for t in self.local]
        influxd.write(db, "\n".join(lines))

    async def run(self, dry_run=False, since=None, until=None, client=True):
        """The `backfill` command's run (outbox, delivery); its report, or its error text."""
        cloud = CloudClient(self.sim.cloud_url, self.token, backoff=0.05) if client else None
        result = await backfill_by_hand(self.settings, since, until, dry_run, client=cloud)
        if result.report is None:
            raise BackfillStopped(result.error)
        assert result.left == 0  # everything fetched reached InfluxDB through the outbox
        return result.report

    def cloud_times(self) -> list[int]:
        return [r["time"] for r in self.influxd.points(self.db, "power_flow", "source='cloud'")]

    def cloud_points(self) -> list[dict]:
        return self.influxd.points(self.db, "power_flow", "source='cloud'")

    async def served(self, device: str = "grid") -> dict[int, float]:
        """The oracle: what the simulated cloud serves (epoch s -> kW) for the days around the
        gap, read with plain httpx and datetime, not with the logger's client or parser."""
        ident = self.sim.cloud_api.config.installation_id
        days = {datetime.fromtimestamp(t, ZONE).date()
                for t in (self.gap.start, self.gap.end)}
        samples: dict[int, float] = {}
        async with httpx.AsyncClient(headers={"Authorization": f"Bearer {self.token}"}) as http:
            for day in sorted(days):
                path = f"history/recent/{ident}/{device}/power/{day.year}/{day.month}/{day.day}"
                answer = (await http.get(f"{self.sim.cloud_url}/{path}")).json()
                for sample in answer["data"]:
                    moment = datetime.fromisoformat(sample["timestamp"])
                    samples[int(moment.timestamp())] = sample["value"]
        return samples

    def expected_inside(self, served: dict[int, float]) -> list[int]:
        return sorted(t for t in served if self.gap.start < t < self.gap.end)


def with_world(influxd, db, tmp_path, token, body, pinned=False, resolution=LOCAL_INTERVAL,
               devices=frozenset({"solar", "battery"})):
    config = SimulatorConfig(seed=11, speed=0, devices=devices,
                             cloud=CloudSimConfig(token=token, resolution=resolution,
                                                  history_days=1))

    async def main():
        async with Simulator(config) as sim:
            return await body(World(influxd, db, tmp_path, token, sim, pinned))

    return asyncio.run(main())
