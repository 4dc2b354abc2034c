"""The Jullix platform API (cloud) turned into points: installations, realtime, day history.

Transport (auth, retries, 401/404/429 handling, token hygiene) is `client`; this module only
knows payloads. Parsing is pure (payload in, samples/points out).

ASSUMED HISTORY FORMAT (not publicly documented; see reference/jullix-api.md §2.5)
---------------------------------------------------------------------------------
Power history of one device type for one Belgian calendar day is read from
`GET /history/recent/{installation}/{device}/power/{Y}/{M}/{D}` (date unpadded, as DX does) for
device in grid, solar, battery, charger. Only `plug` and `battery` histories are seen in other
code; the other device names follow the same pattern and are an inference, so a 404 there says
"no such history", not "no such device": a PV home whose solar history path does not exist must
not get `solar_w = 0` at noon. A 404 therefore counts as an absent device (0 W, as the local
poller writes an absent device type) only for a device type the local poller recorded as absent
for this installation (`known_absent`); otherwise the field, and with it `home_w`, is left out,
as the local poller does for an endpoint that failed. Without a grid history nothing is written.

The shape this parser expects, which the simulator serves (`logger/testbed/simulator/cloud_api.py`):

    {"data": [{"timestamp": "2026-03-07T10:05:00+01:00", "value": 1.234}, ...], "status": "ok"}

one sample per interval, `value` the power in kW at that time (grid + import / - export; battery
+ discharging / - charging, the local API's sign, NOT established for the cloud). Accepted
variants: no envelope; `data` (or the top level) an object holding the list under `values`,
`entries`, `items`, `history`, `samples`, `points` or `data`, optionally with `unit` ("kW" or
"W"; anything else is refused); items as objects with the time under `timestamp`, `time`,
`date`, `datetime` or `ts` and the value under `value`, `power`, `avg` or `kw`, or as
`[time, value]` pairs; times as ISO 8601 with zone, ISO 8601 without zone (Belgian local time,
the autumn repeated hour resolved by order), or epoch seconds or milliseconds.

Validation: |power| < 100 kW, sample time within the requested day (an hour of slack either
side), number-like values only. A sample that fails is counted, a response of which nothing is
understood is logged once with a short redacted sample and nothing of it is written.
`jullix-logger cloud-probe` saves the raw answers so the real format can be confirmed.

Energy histories (`.../energy/...`) and `/statistics/energy/{id}/{daily,monthly,yearly}` are
fetched by `cloud-probe` only: their shape and meaning (per interval or cumulative) are unknown,
so no measurement is defined for them yet.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from logger.core.belgian_time import BRUSSELS, day_bounds
from logger.core.point import Point
from logger.core.problems import Problems
from logger.sources.cloud.client import (
    CloudAuthError,
    CloudBadResponse,
    CloudClient,
    CloudError,
    short_sample,
)
from logger.sources.cloud.paths import HISTORY_DEVICES, history_path
from logger.sources.cloud.realtime import MAX_POWER_W
from logger.sources.power_flow import power_flow_point
from logger.sources.values import kw_to_w, number, unwrap

_LIST_KEYS = ("values", "entries", "items", "history", "samples", "points", "data")
_TIME_KEYS = ("timestamp", "time", "date", "datetime", "ts")
_VALUE_KEYS = ("value", "power", "avg", "kw")
_UNITS = {"kw": 1000.0, "w": 1.0}


@dataclass
class HistoryParse:
    samples: dict[int, float] = field(default_factory=dict)  # epoch s -> W
    rejected: list[str] = field(default_factory=list)  # why samples were refused
    understood: bool = True
    why: str = ""


def _sample_list(payload: Any) -> tuple[list[Any] | None, str | None]:
    """The list of samples and an optional unit, through envelopes and holder objects."""
    unit = None
    for _ in range(4):
        if isinstance(payload, list):
            return payload, unit
        if not isinstance(payload, dict):
            return None, unit
        if isinstance(payload.get("unit"), str):
            unit = payload["unit"]
        for key in _LIST_KEYS:
            if key in payload and isinstance(payload[key], list | dict):
                payload = payload[key]
                break
        else:
            # {"2026-03-07T10:00:00": 1.2, ...}: a map from time to value
            items = [(k, v) for k, v in payload.items() if k != "unit"]
            if items and all(_parse_time(k, None) is not None for k, _ in items):
                return [list(item) for item in items], unit
            return None, unit
    return None, unit


def _parse_time(raw: Any, previous: int | None) -> int | None:
    """Epoch seconds of a sample time; naive = Belgian local (repeated hour by order)."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, str) and raw.strip().lstrip("-").replace(".", "", 1).isdigit():
        raw = float(raw.strip())
    if isinstance(raw, int | float):
        value = float(raw)
        if value > 1e11:  # milliseconds
            value /= 1000.0
        return int(value) if 1e9 <= value < 1e10 else None  # 2001 .. 2286
    if not isinstance(raw, str) or len(raw.strip()) < 13:  # a date alone is no sample time
        return None
    try:
        moment = datetime.fromisoformat(raw.strip().replace(" ", "T", 1))
    except ValueError:
        return None
    if moment.tzinfo is not None:
        return int(moment.timestamp())
    first = int(moment.replace(tzinfo=BRUSSELS, fold=0).timestamp())
    second = int(moment.replace(tzinfo=BRUSSELS, fold=1).timestamp())
    if first != second and previous is not None and first <= previous < second:
        return second  # the autumn hour again: the samples are in order
    return first


def _item_time_value(item: Any) -> tuple[Any, Any, str | None]:
    if isinstance(item, list | tuple) and len(item) == 2:
        return item[0], item[1], None
    if isinstance(item, dict):
        raw_time = next((item[k] for k in _TIME_KEYS if k in item), None)
        raw_value = next((item[k] for k in _VALUE_KEYS if k in item), None)
        unit = item.get("unit") if isinstance(item.get("unit"), str) else None
        return raw_time, raw_value, unit
    return None, None, None


def parse_power_history(payload: Any, day: date) -> HistoryParse:
    """Samples (epoch s -> W) of one device's power history for `day` (see module doc)."""
    result = HistoryParse()
    items, unit = _sample_list(unwrap(payload))
    if items is None:
        return HistoryParse(understood=False, why="no list of samples found")
    start, end = day_bounds(day)
    previous: int | None = None
    for item in items:
        raw_time, raw_value, item_unit = _item_time_value(item)
        factor = _UNITS.get((item_unit or unit or "kW").strip().lower())
        if factor is None:
            return HistoryParse(understood=False, why=f"unknown unit {(item_unit or unit)!r}")
        moment = _parse_time(raw_time, previous)
        value = number(raw_value)
        if moment is None or value is None:
            result.rejected.append("time or value not understood")
            continue
        previous = moment
        watts = value * factor
        if factor == 1000.0:
            watts = kw_to_w(value) or 0.0
        if abs(watts) >= MAX_POWER_W:
            result.rejected.append(f"{watts:.0f} W out of range")
            continue
        if not start - 3600 <= moment < end + 3600:
            result.rejected.append("sample outside the requested day")
            continue
        result.samples[moment] = watts
    if items and not result.samples:
        result.understood = False
        result.why = result.rejected[0] if result.rejected else "no samples"
    return result


def history_points(installation: str, series: dict[str, dict[int, float]],
                   absent: Iterable[str]) -> list[Point]:
    """power_flow points (source=cloud) at the grid samples' times.

    `series` maps history device -> samples; `absent` devices count as 0 W (the caller decides
    which: see the module doc). Any other device without a sample at that time leaves its field
    (and home_w) out.
    """
    grid = series.get("grid")
    if not grid:
        return []
    absent = set(absent)
    points = []
    for moment in sorted(grid):
        values: dict[str, float | None] = {}
        for device, field_name in HISTORY_DEVICES.items():
            values[field_name] = (0.0 if device in absent
                                  else series.get(device, {}).get(moment))
        point = power_flow_point(installation, moment, "cloud", **values)
        if point is not None:
            points.append(point)
    return points


@dataclass
class DayHistory:
    day: date
    points: list[Point]
    calls: int
    problem: str = ""  # why nothing (or not everything) could be used
    complete: bool = False  # grid understood, and no device failed: nothing to try again


async def fetch_day(client: CloudClient, installation_id: str, installation: str, day: date,
                    problems: Problems, known_absent: Collection[str] = ()) -> DayHistory:
    """The power history of one day as power_flow points. Raises CloudAuthError only.

    `complete` is True when the grid history was understood and every other device answered
    with a history that was understood or with 404; an unavailable, malformed or refused answer
    makes the day incomplete (its points are still returned: what they hold is right, a later
    fetch adds the missing fields to the same points).
    """
    devices = list(HISTORY_DEVICES)
    paths = [history_path(installation_id, d, "power", day) for d in devices]
    answers = await asyncio.gather(*(client.get(p) for p in paths), return_exceptions=True)
    series: dict[str, dict[int, float]] = {}
    absent: list[str] = []
    problem = ""
    failed = False
    for device, answer in zip(devices, answers, strict=True):
        if isinstance(answer, CloudAuthError):
            raise answer
        if isinstance(answer, BaseException):
            if not isinstance(answer, CloudError):
                raise answer
            problem, failed = problem or str(answer), True
            if isinstance(answer, CloudBadResponse):
                problems.report(f"cloud_history_{device}_invalid", "%s; nothing written", answer)
            continue
        if answer is None:
            if device in known_absent:
                absent.append(device)
            elif device != "grid":
                problems.report(
                    f"cloud_history_{device}_missing",
                    "cloud has no %s power history (404) for %s, and the local poller has not "
                    "recorded the device type as absent: %s and home_w left out",
                    device, day.isoformat(), HISTORY_DEVICES[device], level=logging.INFO)
            continue
        parsed = parse_power_history(answer, day)
        if not parsed.understood:
            failed = True
            problem = problem or f"{device} history format not understood ({parsed.why})"
            problems.report(
                f"cloud_history_{device}_shape",
                "cloud %s power history for %s not understood (%s), nothing of it written; "
                "sample: %s", device, day.isoformat(), parsed.why,
                short_sample(answer, client.token_text))
            continue
        if parsed.rejected:
            problems.report(f"cloud_history_{device}_rejected",
                            "cloud %s power history for %s: %d samples refused (first: %s)",
                            device, day.isoformat(), len(parsed.rejected), parsed.rejected[0])
        series[device] = parsed.samples
    if "grid" not in series and not problem:
        problem = "the cloud has no grid power history (404)"
    complete = "grid" in series and not failed
    return DayHistory(day, history_points(installation, series, absent), len(paths), problem,
                      complete)
