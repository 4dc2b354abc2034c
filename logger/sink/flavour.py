"""Which `[influx] api` a server can take, from the version its `/ping` states.

InfluxDB 1.x before 1.8 (Debian's and Raspberry Pi OS's 1.6) has only API v1: with `api = "v2"`
every write would answer 404, and `/api/v2/buckets` too, which reads like a missing bucket. Said
up front by `check` and `migrate` instead.
"""

from __future__ import annotations

import re


def version_tuple(version: str) -> tuple[int, int] | None:
    """(major, minor) of `1.6.7~rc0`, `v2.7.1`, `3.0.0`; None when it says no version."""
    match = re.match(r"v?(\d+)\.(\d+)", version.strip())
    return (int(match.group(1)), int(match.group(2))) if match else None


def api_problem(version: str, api: str) -> str | None:
    """Why `api` cannot work with a server of `version`, or None."""
    numbers = version_tuple(version)
    if api == "v2" and numbers is not None and numbers < (1, 8):
        return (f"InfluxDB {version} has no API v2 (InfluxDB 1.8 brought it): set [influx] "
                'api = "v1" (with database, and username/password when auth is on)')
    return None
