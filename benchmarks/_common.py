"""Shared plumbing of the benchmarks: a private influxd, the simulator, the logger, /proc reads.

Everything runs on 127.0.0.1 with the real programs (`python -m logger simulate|run`) and a real
influxd (Debian's 1.6), exactly as the end-to-end tests do. Not part of the test suite.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from harness import Process, SimulatorProcess, write_config  # noqa: E402

from logger.testbed.influxd import InfluxServer, free_port  # noqa: E402
from logger.testbed.mosquitto import MosquittoServer  # noqa: E402

__all__ = ["InfluxServer", "Process", "SimulatorProcess", "write_config"]

CLK_TCK = os.sysconf("SC_CLK_TCK")


def machine() -> dict[str, Any]:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        "kernel": platform.release(),
    }


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS / VmHWM (peak RSS) in kB from /proc/<pid>/status."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0])
    return values


def cpu_seconds(pid: int) -> float:
    """utime + stime of the process from /proc/<pid>/stat, in seconds."""
    text = Path(f"/proc/{pid}/stat").read_text()
    fields = text[text.rindex(")") + 2:].split()  # after "pid (comm) "
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


class Stack:
    """influxd + simulator + logger, all private, torn down on exit."""

    def __init__(self, tmp: Path, local_interval: float = 5.0, p1: bool = False,
                 sim_args: tuple[str, ...] = ("--devices", "solar,battery"),
                 http: bool = False, mqtt: bool = False) -> None:
        self.tmp = tmp
        self.influx = InfluxServer().start()
        self.broker = MosquittoServer().start() if mqtt else None  # [mqtt] at its defaults
        extra = list(sim_args)
        self.p1_port = free_port() if p1 else None
        if self.p1_port:
            extra += ["--p1-port", str(self.p1_port)]
        self.sim = SimulatorProcess(tmp, *extra)
        sections: dict[str, dict[str, Any]] = {
            "local": {"url": self.sim.url, "interval": local_interval, "timeout": 4.0},
            "influx": {"url": self.influx.url, "database": "jullix"},
            "outbox": {"path": str(tmp / "outbox.sqlite")},
        }
        if self.p1_port:
            sections["p1"] = {"enabled": True, "host": "127.0.0.1", "port": self.p1_port}
        self.http_url = None
        if http:  # the opt-in /metrics and /healthz endpoint
            port = free_port()
            sections["http"] = {"listen": f"127.0.0.1:{port}"}
            self.http_url = f"http://127.0.0.1:{port}"
        if self.broker is not None:
            sections["mqtt"] = {"url": self.broker.url}
        self.config = write_config(tmp / "config.toml", sections, installation="bench")
        self.logger = Process(["run", "-c", str(self.config)], tmp / "logger.log")

    @property
    def pid(self) -> int:
        return self.logger.proc.pid

    def alive(self) -> bool:
        return self.logger.proc.poll() is None

    def close(self) -> int | None:
        code = None
        try:
            if self.alive():
                code = self.logger.stop()
        finally:
            self.logger.close()
            self.sim.close()
            self.influx.close()
            if self.broker is not None:
                self.broker.close()
        return code

    def stored(self, measurement: str = "meter") -> int:
        try:
            return len(self.influx.points("jullix", measurement))
        except Exception:
            return 0


def emit(result: dict[str, Any]) -> None:
    print(json.dumps(result, indent=2))
    sys.stdout.flush()


def sleep_until(deadline: float) -> None:
    while (left := deadline - time.monotonic()) > 0:
        time.sleep(min(left, 1.0))
