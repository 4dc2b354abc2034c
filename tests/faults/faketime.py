"""Running the logger under libfaketime: its wall clock (and, on request, its monotonic clock)
moved at runtime through a timestamp file, while the simulator and InfluxDB keep real time.

Needs libfaketime (Debian: `apt-get install faketime`); a test is skipped without it unless
`JULLIX_REQUIRE_FAKETIME=1` (CI), which turns the skip into a failure.
"""

from __future__ import annotations

import glob
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest


def libfaketime() -> str:
    found = sorted(glob.glob("/usr/lib/*/faketime/libfaketime.so.1"))
    if found:
        return found[0]
    reason = "libfaketime not installed (apt-get install faketime)"
    if os.environ.get("JULLIX_REQUIRE_FAKETIME") == "1":
        pytest.fail(f"JULLIX_REQUIRE_FAKETIME=1 but {reason}", pytrace=False)
    pytest.skip(reason)


def faketime_env(library: str, offset_file: Path, monotonic: bool = False) -> dict[str, str]:
    """`monotonic=False`: a wall-clock step (NTP, a Pi without RTC) never moves CLOCK_MONOTONIC.
    `monotonic=True`: both clocks move together, as if that much time had really passed."""
    env = {
        "LD_PRELOAD": library,
        "FAKETIME_TIMESTAMP_FILE": str(offset_file),
        "FAKETIME_NO_CACHE": "1",  # re-read the file: jumps at runtime
    }
    if not monotonic:
        env["FAKETIME_DONT_FAKE_MONOTONIC"] = "1"
    return env


def check_faketime_works(env: dict[str, str], offset_file) -> None:
    offset_file.write_text("-3600\n")
    probe = "import time; print(time.time(), time.monotonic())"
    out = subprocess.run([sys.executable, "-c", probe], env={**os.environ, **env},
                         capture_output=True, text=True, timeout=30, check=True).stdout.split()
    assert abs(float(out[0]) - (time.time() - 3600)) < 30, "libfaketime did not move the clock"
    assert abs(float(out[1]) - time.monotonic()) < 30, "libfaketime moved the monotonic clock"
    offset_file.write_text("+0\n")
