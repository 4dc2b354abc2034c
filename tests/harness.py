"""Running the real programs for end-to-end tests: the simulator and the logger as processes.

Both are started exactly as a user would start them (`python -m logger simulate|run`), talk over
127.0.0.1 only, and are always cleaned up.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from logger.testbed.influxd import free_port

ROOT = Path(__file__).resolve().parent.parent


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JULLIX_LOGGER_")}
    env.pop("NOTIFY_SOCKET", None)
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


class Process:
    """A child process with its output in a file, killed at the latest on `close`."""

    def __init__(self, args: list[str], log_path: Path, env: dict[str, str] | None = None):
        self.log_path = log_path
        self._log = open(log_path, "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "logger", *args], cwd=ROOT, env=_env(env),
            stdout=self._log, stderr=subprocess.STDOUT,
        )

    def signal(self, sig: int) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)

    def wait(self, timeout: float = 30.0) -> int:
        return self.proc.wait(timeout)

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM and wait: the clean shutdown a service manager does. A scheduled job that
        raised, or one the stop cut short and APScheduler reported as an error, fails the
        test that stopped it ("Error running job" has no place in a service's log)."""
        self.signal(signal.SIGTERM)
        code = self.wait(timeout)
        assert "Error running job" not in self.output(), self.output()[-4000:]
        return code

    def kill(self) -> None:
        self.signal(signal.SIGKILL)
        self.proc.wait(10)

    def output(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self._log.close()


class SimulatorProcess(Process):
    def __init__(self, tmp_path: Path, *extra: str) -> None:
        self.port = free_port()
        super().__init__(
            ["simulate", "--local-port", str(self.port), *extra], tmp_path / "simulator.log"
        )
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                self.control("GET", "state")
                break
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("simulator did not start:\n" + self.output()) from None
                time.sleep(0.1)

    def control(self, method: str, name: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{self.url}/_sim/{name}", data=data, method=method)
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def served(self) -> list[dict[str, Any]]:
        return self.control("GET", "served")

    def set_faults(self, **faults: Any) -> None:
        self.control("POST", "faults", faults)


def write_config(path: Path, sections: dict[str, dict[str, Any]], installation: str = "test"
                 ) -> Path:
    """A TOML config file from plain dicts (values: str, int, float, bool)."""
    lines = [f"installation = {json.dumps(installation)}"]
    for section, values in sections.items():
        lines.append(f"[{section}]")
        for key, value in values.items():
            if isinstance(value, bool):
                lines.append(f"{key} = {'true' if value else 'false'}")
            else:
                lines.append(f"{key} = {json.dumps(value)}")
    path.write_text("\n".join(lines) + "\n")
    return path


def wait_until(predicate, timeout: float, interval: float = 0.25, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def served_utc_seconds(readings: Iterable[dict[str, Any]]) -> list[int]:
    """Epoch seconds of the meter readings the simulator served."""
    from datetime import datetime

    return [int(datetime.fromisoformat(r["utc"]).timestamp()) for r in readings]


def http_get(url: str) -> tuple[int, str]:
    """(status, body) of a GET on loopback; (0, the reason) when nothing listens (yet)."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
    except urllib.error.URLError as exc:
        return 0, str(exc)
