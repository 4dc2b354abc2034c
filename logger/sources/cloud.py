"""The Jullix platform API (cloud) turned into points: installations, realtime, day history.

Transport (auth, retries, 401/404/429 handling, token hygiene) is `logger.cloud_client`; this
module only knows paths and payloads. Parsing is pure (payload in, samples/points out).

ASSUMED HISTORY FORMAT (not publicly documented; see reference/jullix-api.md §2.5)
---------------------------------------------------------------------------------
Power history of one device type for one Belgian calendar day is read from
`GET /history/recent/{installation}/{device}/power/{Y}/{M}/{D}` (date unpadded, as DX does) for
device in grid, solar, battery, charger. Only `plug` and `battery` histories are seen in other
code; the other device names follow the same pattern and are an inference: a 404 means "no such
history" and, for solar/battery/charger, "no such device" (written as 0 W, like the local API's
absent devices). Without a grid history nothing is written.

The shape this parser expects, which the simulator serves (`logger/simulator/cloud_api.py`):

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

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from logger.cloud_client import (
    CloudAuthError,
    CloudBadResponse,
    CloudClient,
    CloudError,
    redact,
    unwrap_envelope,
)
from logger.point import Point
from logger.problems import Problems
from logger.sources.values import kw_to_w, number

log = logging.getLogger(__name__)

BRUSSELS = ZoneInfo("Europe/Brussels")
MAX_POWER_W = 100_000.0
# device in the history path -> power_flow field
HISTORY_DEVICES = {"grid": "grid_w", "solar": "solar_w", "battery": "battery_w",
                   "charger": "car_w"}
_LIST_KEYS = ("values", "entries", "items", "history", "samples", "points", "data")
_TIME_KEYS = ("timestamp", "time", "date", "datetime", "ts")
_VALUE_KEYS = ("value", "power", "avg", "kw")
_UNITS = {"kw": 1000.0, "w": 1.0}


# -- paths ----------------------------------------------------------------------------------


def ymd(day: date) -> str:
    return f"{day.year}/{day.month}/{day.day}"


def history_path(installation_id: str, device: str, quantity: str, day: date) -> str:
    return f"history/recent/{installation_id}/{device}/{quantity}/{ymd(day)}"


def day_history_paths(installation_id: str, day: date) -> list[str]:
    """The calls the backfill makes for one day."""
    return [history_path(installation_id, d, "power", day) for d in HISTORY_DEVICES]


def probe_paths(installation_id: str, day: date) -> list[str]:
    """Every read-only history/statistics endpoint known or inferred, for `cloud-probe`."""
    paths = [
        "installation/all",
        f"installation/{installation_id}",
        f"actual/{installation_id}/summary/power",
    ]
    paths += [f"actual/{installation_id}/detail/{t}" for t in
              ("battery", "solar", "grid", "home", "plug", "charger", "metering")]
    for device in ("grid", "solar", "battery", "home", "charger", "plug"):
        for quantity in ("power", "energy"):
            paths.append(history_path(installation_id, device, quantity, day))
    paths += [f"statistics/energy/{installation_id}/{span}"
              for span in ("daily", "monthly", "yearly")]
    paths += [f"cost/hourly/price/{installation_id}/{ymd(day)}",
              f"cost/total/{installation_id}/{day.year}/{day.month}",
              f"charger/installation/{installation_id}/all",
              f"plug/installation/{installation_id}/all"]
    return paths


# -- installations --------------------------------------------------------------------------


def installation_ids(payload: Any) -> list[str]:
    """Ids from `/installation/all`: a list, `{"installations": [...]}` or a single object."""
    payload = unwrap_envelope(payload)
    if isinstance(payload, dict) and isinstance(payload.get("installations"), list):
        payload = payload["installations"]
    if isinstance(payload, dict):
        payload = [payload]
    ids = []
    for item in payload if isinstance(payload, list) else []:
        if isinstance(item, dict):
            ident = item.get("id", item.get("install_id"))
            if isinstance(ident, str | int) and str(ident).strip():
                ids.append(str(ident).strip())
    return ids


async def resolve_installation(client: CloudClient, pinned: str | None) -> str:
    """The installation id to use: the pinned one (checked), or the account's only one."""
    ids = installation_ids(await client.get("installation/all"))
    if pinned:
        if ids and pinned not in ids:
            raise CloudError(f"[cloud] installation_id {pinned!r} is not one of this account's "
                             f"installations ({', '.join(ids)})")
        return pinned
    if not ids:
        raise CloudError("the Jullix cloud account has no installations")
    if len(ids) > 1:
        raise CloudError("the Jullix cloud account has several installations "
                         f"({', '.join(ids)}): set [cloud] installation_id to one of them")
    return ids[0]


# -- realtime -------------------------------------------------------------------------------


def summary_point(payload: Any, installation: str, received_at: datetime) -> Point | None:
    """`/actual/{id}/summary/power` -> power_flow (source=cloud) at receive time, or None."""
    data = unwrap_envelope(payload)
    powers = data.get("powers") if isinstance(data, dict) else None
    if not isinstance(powers, dict):
        return None
    grid = kw_to_w(powers.get("grid"))
    if grid is None:
        return None
    values = {"grid_w": grid, "solar_w": kw_to_w(powers.get("solar")),
              "battery_w": kw_to_w(powers.get("battery")), "car_w": kw_to_w(powers.get("car"))}
    if any(v is not None and abs(v) >= MAX_POWER_W for v in values.values()):
        return None
    return flow_point(installation, received_at, values)


def flow_point(installation: str, moment: datetime | int, values: dict[str, float | None]
               ) -> Point | None:
    """power_flow with source=cloud; home = grid + solar + battery - car when all are known."""
    fields = dict(values)
    parts = [fields.get(k) for k in ("grid_w", "solar_w", "battery_w", "car_w")]
    fields["home_w"] = (parts[0] + parts[1] + parts[2] - parts[3]  # type: ignore[operator]
                        if None not in parts else None)
    return Point.make("power_flow", {"installation": installation, "source": "cloud"}, fields,
                      moment)


class CloudRealtime:
    """Polls the realtime summary into power_flow points (source=cloud)."""

    def __init__(self, client: CloudClient, installation: str, installation_id: str | None,
                 problems: Problems) -> None:
        self.client = client
        self.installation = installation
        self.pinned = installation_id
        self.installation_id: str | None = None
        self.problems = problems

    async def poll(self, received_at: datetime | None = None) -> list[Point]:
        stamp = (received_at or datetime.now(UTC)).replace(microsecond=0)
        if self.installation_id is None:
            self.installation_id = await resolve_installation(self.client, self.pinned)
        payload = await self.client.get(f"actual/{self.installation_id}/summary/power")
        point = summary_point(payload, self.installation, stamp)
        if point is None:
            self.problems.report("cloud_summary_shape",
                                 "cloud realtime summary not understood, nothing written: %.200s",
                                 short_sample(payload, self.client.token_text))
            return []
        return [point]


# -- history parsing ------------------------------------------------------------------------


@dataclass
class HistoryParse:
    samples: dict[int, float] = field(default_factory=dict)  # epoch s -> W
    rejected: list[str] = field(default_factory=list)  # why samples were refused
    understood: bool = True
    why: str = ""


def day_bounds(day: date) -> tuple[int, int]:
    """[start, end) of a Belgian calendar day in epoch seconds."""
    start = datetime(day.year, day.month, day.day, tzinfo=BRUSSELS)
    end = datetime.combine(day + timedelta(days=1), datetime.min.time(), BRUSSELS)
    return int(start.timestamp()), int(end.timestamp())


def brussels_day(epoch: int) -> date:
    return datetime.fromtimestamp(epoch, BRUSSELS).date()


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
    items, unit = _sample_list(unwrap_envelope(payload))
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

    `series` maps history device -> samples; `absent` devices (404) count as 0 W, as the local
    poller counts an absent device type. A present device without a sample at that time leaves
    its field (and home_w) out.
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
        point = flow_point(installation, moment, values)
        if point is not None:
            points.append(point)
    return points


def short_sample(payload: Any, *secrets: str) -> str:
    """At most 200 characters of a payload for a log line, secrets removed."""
    try:
        text = json.dumps(payload, ensure_ascii=True)[:200]
    except (TypeError, ValueError):
        text = repr(payload)[:200]
    return redact(text, *secrets)


@dataclass
class DayHistory:
    day: date
    points: list[Point]
    calls: int
    problem: str = ""  # why nothing (or not everything) could be used


async def fetch_day(client: CloudClient, installation_id: str, installation: str, day: date,
                    problems: Problems) -> DayHistory:
    """The power history of one day as power_flow points. Raises CloudAuthError only."""
    import asyncio

    devices = list(HISTORY_DEVICES)
    paths = [history_path(installation_id, d, "power", day) for d in devices]
    answers = await asyncio.gather(*(client.get(p) for p in paths), return_exceptions=True)
    series: dict[str, dict[int, float]] = {}
    absent: list[str] = []
    problem = ""
    for device, answer in zip(devices, answers, strict=True):
        if isinstance(answer, CloudAuthError):
            raise answer
        if isinstance(answer, BaseException):
            if not isinstance(answer, CloudError):
                raise answer
            problem = problem or str(answer)
            if isinstance(answer, CloudBadResponse):
                problems.report(f"cloud_history_{device}_invalid", "%s; nothing written", answer)
            continue
        if answer is None:
            absent.append(device)
            continue
        parsed = parse_power_history(answer, day)
        if not parsed.understood:
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
    if "grid" in absent and not problem:
        problem = "the cloud has no grid power history (404)"
    return DayHistory(day, history_points(installation, series, absent), len(paths), problem)


# -- probe ----------------------------------------------------------------------------------


async def probe(client: CloudClient, installation_id: str | None, day: date, out: Path
                ) -> list[tuple[str, str]]:
    """Save the raw answer of every history/statistics endpoint for `day` into `out`.

    One file per endpoint (`NN-path_with_underscores.json`) holding the path, status,
    content type and body, with the token redacted. Returns (path, outcome) pairs.
    """
    out.mkdir(parents=True, exist_ok=True)
    ident = await resolve_installation(client, installation_id)
    results = []
    for index, path in enumerate(probe_paths(ident, day)):
        try:
            raw = await client.get_raw(path)
        except CloudAuthError:
            raise
        except CloudError as exc:
            results.append((path, str(exc)))
            continue
        try:
            body: Any = json.loads(raw.text)
        except ValueError:
            body = raw.text
        record = {"path": path, "status": raw.status, "content_type": raw.content_type,
                  "body": body}
        text = redact(json.dumps(record, indent=2, ensure_ascii=False), client.token_text)
        name = f"{index:02d}-{path.replace('/', '_')}.json"
        (out / name).write_text(text + "\n", encoding="utf-8")
        results.append((path, f"HTTP {raw.status}, {len(raw.text)} bytes -> {name}"))
    return results
