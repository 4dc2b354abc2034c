"""Removing the points of one series in a time range (`jullix-logger backfill --undo`).

Only a whole series (measurement + every tag given) in [start, end) is ever removed: the request
names them all, so nothing else can match.

- API v1 (InfluxDB 1.x): InfluxQL `DELETE FROM m WHERE tag = '..' AND time >= .. AND time < ..`
  over `/query` (1.x deletes by tags and time).
- API v2 (InfluxDB 2.x, Cloud): `POST /api/v2/delete` with a predicate on `_measurement` and the
  tags and `start`/`stop` (stop is inclusive there, so one nanosecond before `end`). When that
  endpoint does not exist (404: InfluxDB 1.8's v2 layer), the InfluxQL `DELETE` is tried.
  InfluxDB Cloud Serverless refuses deletes: its answer becomes a `DeleteRefused`.
- InfluxDB 3 (Core, Enterprise) has no delete of points over HTTP (whole tables and databases
  only; Enterprise 3.10+ deletes rows with its own CLI): `DeleteRefused` before anything is
  sent, with the way the server does offer.

The flavour comes from the one detection (`InfluxQL.flavour()`); the count is read in windows
no longer than the server allows (`logger.sink.windows`).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx

from logger.config import InfluxSettings
from logger.sink.flavour import CLOUD, ENTERPRISE, Flavour
from logger.sink.gaps import Series
from logger.sink.http import influx_client, v2_token
from logger.sink.influxql import InfluxQL, QueryError, quote_ident
from logger.sink.windows import each_window


class DeleteRefused(QueryError):
    """This server does not delete points of a range: the text says why and what it offers."""


async def count_points(ql: InfluxQL, series: Series, start: int, end: int) -> int:
    """How many points of `series` (with its field) lie in [start, end)."""

    async def window(lo: int, hi: int) -> int:
        statement = (f"SELECT count({quote_ident(series.field)}) FROM "
                     f"{ql.source(series.measurement)} WHERE {series.where(lo, hi)}")
        return sum(int(row[1] or 0) for answer in await ql.query(statement)
                   for row in answer.get("values") or [])

    return sum(await each_window(await ql.read_span(), start, end, window))


def refusal(flavour: Flavour, series: Series) -> str | None:
    """Why `flavour` cannot delete `series`' points of a range, or None when it can."""
    if flavour.deletes is not None:
        return None
    tags = " AND ".join(f"{k} = {json.dumps(v)}" for k, v in series.tags)
    if flavour.kind == ENTERPRISE:
        return (f"{flavour} deletes points only with its own CLI: `influxdb3 delete rows` on "
                f"table {series.measurement!r} with this time range and the tag predicate "
                f"{tags} (3.10+, started with --use-pacha-tree; applied by the compactor, up "
                "to 24 h later); docs/influxdb.md")
    return (f"{flavour} cannot delete points of a range (only whole tables or databases, "
            f"`influxdb3 delete table`): the points of {series.measurement!r} where {tags} stay; "
            "a later backfill overwrites them point by point where the cloud has samples")


async def delete_points(settings: InfluxSettings, ql: InfluxQL, series: Series, start: int,
                        end: int) -> None:
    """Remove every point of `series` in [start, end); QueryError when the server refuses
    (DeleteRefused when it has no way to)."""
    flavour = await ql.flavour()
    why = refusal(flavour, series)
    if why is not None:
        raise DeleteRefused(why)
    if (settings.api == "v2" or flavour.deletes == "api") and await _delete_v2(
            settings, series, start, end, flavour):
        return
    statement = f"DELETE FROM {quote_ident(series.measurement)} WHERE {series.where(start, end)}"
    await ql.query(statement)


def _rfc3339(epoch_ns: int) -> str:
    seconds, ns = divmod(epoch_ns, 1_000_000_000)
    moment = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{moment}.{ns:09d}Z"


async def _delete_v2(settings: InfluxSettings, series: Series, start: int, end: int,
                     flavour: Flavour) -> bool:
    """True when `/api/v2/delete` did it, False when the server has no such endpoint."""
    predicate = " AND ".join([f"_measurement={json.dumps(series.measurement)}"]
                             + [f"{k}={json.dumps(v)}" for k, v in series.tags])
    body = {"start": _rfc3339(start * 1_000_000_000),
            "stop": _rfc3339(end * 1_000_000_000 - 1), "predicate": predicate}
    bucket = settings.bucket if settings.api == "v2" else "/".join(
        part for part in (settings.database, settings.retention_policy) if part)
    params = {"org": settings.org, "bucket": bucket}
    headers = {"Authorization": f"Token {v2_token(settings)}"} if v2_token(settings) else {}
    async with influx_client(settings) as client:
        try:
            response = await client.post("/api/v2/delete", params=params, json=body,
                                         headers=headers)
        except httpx.HTTPError as exc:
            raise QueryError(f"cannot reach {settings.display_url}: {type(exc).__name__}"
                             ) from None
    if response.status_code == 404 and not flavour.buckets:
        return False  # InfluxDB 1.8: no such endpoint, InfluxQL DELETE instead
    if response.status_code in (200, 204):
        return True
    text = f"/api/v2/delete answered HTTP {response.status_code}: {response.text[:300]}"
    if response.status_code in (400, 404, 405, 501) and flavour.kind == CLOUD:
        raise DeleteRefused(f"{flavour} refused the delete ({text}); InfluxDB Cloud "
                            "Serverless does not delete data (Cloud TSM does)")
    raise QueryError(text)
