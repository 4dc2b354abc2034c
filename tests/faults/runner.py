"""Starting the logger under test as a real process (`python -m logger run`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness import Process, SimulatorProcess, wait_until, write_config

from logger.testbed.influxd import InfluxServer


def logger_config(tmp_path: Path, sim: SimulatorProcess, influx: dict[str, Any],
                  outbox: dict[str, Any] | None = None,
                  local: dict[str, Any] | None = None) -> Path:
    return write_config(
        tmp_path / "config.toml",
        {
            "local": {"url": sim.url, "interval": 1.0, "timeout": 2.0, **(local or {})},
            "influx": {"timeout": 3.0, **influx},
            "outbox": {"path": str(tmp_path / "outbox.sqlite"), **(outbox or {})},
        },
    )


def start_logger(tmp_path: Path, config: Path, name: str = "logger",
                 env: dict[str, str] | None = None) -> Process:
    return Process(["run", "-c", str(config)], tmp_path / f"{name}.log", env=env)


def meter_times(server: InfluxServer, db: str) -> list[int]:
    return [row["time"] for row in server.points(db, "meter")]


def wait_for_meter_points(server: InfluxServer, db: str, count: int, timeout: float,
                          what: str = "meter points") -> None:
    def enough() -> bool:
        try:
            return len(meter_times(server, db)) >= count
        except Exception:
            return False

    wait_until(enough, timeout, what=what)
