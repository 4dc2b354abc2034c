"""Removing the points of one series in a time range (`jullix-logger backfill --undo`).

Only a whole series (measurement + every tag given) in [start, end) is ever removed: the request
names them all, so nothing else can match.

- API v1 (InfluxDB 1.x): InfluxQL `DELETE FROM m WHERE tag = '..' AND time >= .. AND time < ..`
  over `/query` (1.x deletes by tags and time).
- API v2 (InfluxDB 2.x, Cloud): `POST /api/v2/delete` with a predicate on `_measurement` and the
  tags and `start`/`stop` (stop is inclusive there, so one nanosecond before `end`). When that
  endpoint does not exist (404: InfluxDB 1.8's v2 layer), the InfluxQL `DELETE` is tried.
  InfluxDB 3.x deletes whole tables only; its refusal is reported as it comes.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx

from logger.config import InfluxSettings
from logger.sink.gaps import Series
from logger.sink.http import influx_client, v2_token
from logger.sink.influxql import InfluxQL, QueryError, quote_ident


async def count_points(ql: InfluxQL, series: Series, start: int, end: int) -> int:
    """How many points of `series` (with its field) lie in [start, end)."""
    statement = (f"SELECT count({quote_ident(series.field)}) FROM "
                 f"{quote_ident(series.measurement)} WHERE {series.where(start, end)}")
    total = 0
    for answer in await ql.query(statement):
        for row in answer.get("values") or []:
            total += int(row[1] or 0)
    return total


async def delete_points(settings: InfluxSettings, ql: InfluxQL, series: Series, start: int,
                        end: int) -> None:
    """Remove every point of `series` in [start, end); QueryError when the server refuses."""
    if settings.api == "v2" and await _delete_v2(settings, series, start, end):
        return
    statement = f"DELETE FROM {quote_ident(series.measurement)} WHERE {series.where(start, end)}"
    await ql.query(statement)


def _rfc3339(epoch_ns: int) -> str:
    seconds, ns = divmod(epoch_ns, 1_000_000_000)
    moment = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{moment}.{ns:09d}Z"


async def _delete_v2(settings: InfluxSettings, series: Series, start: int, end: int) -> bool:
    """True when `/api/v2/delete` did it, False when the server has no such endpoint."""
    predicate = " AND ".join([f"_measurement={json.dumps(series.measurement)}"]
                             + [f"{k}={json.dumps(v)}" for k, v in series.tags])
    body = {"start": _rfc3339(start * 1_000_000_000),
            "stop": _rfc3339(end * 1_000_000_000 - 1), "predicate": predicate}
    params = {"org": settings.org, "bucket": settings.bucket}
    headers = {"Authorization": f"Token {v2_token(settings)}"} if v2_token(settings) else {}
    async with influx_client(settings) as client:
        try:
            response = await client.post("/api/v2/delete", params=params, json=body,
                                         headers=headers)
        except httpx.HTTPError as exc:
            raise QueryError(f"cannot reach {settings.display_url}: {type(exc).__name__}"
                             ) from None
    if response.status_code == 404:
        return False
    if response.status_code not in (200, 204):
        raise QueryError(f"/api/v2/delete answered HTTP {response.status_code}: "
                         f"{response.text[:300]}")
    return True
