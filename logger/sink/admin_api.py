"""The admin APIs a migration needs beyond InfluxQL and the buckets API, per flavour:

- InfluxDB 3 (Core, Enterprise): databases through `/api/v3/configure/database` (GET lists,
  POST creates with an optional `retention_period`, PUT changes it: 3.2 and later). InfluxQL
  there has no CREATE DATABASE or CREATE RETENTION POLICY, and a v1 `db` + `rp` is the
  database `db/rp`. Core allows 5 databases (a sixth answers 422 "would exceed limit").
- InfluxDB 2.x and Cloud: DBRP mappings through `/api/v2/dbrps`, which InfluxQL needs to read a
  bucket. 2.4 and later give every bucket a virtual one (listed with `"virtual": true`); Cloud
  Serverless and older 2.x need one created.

Plain functions on a client the caller owns; a refusal of the credentials (401/403) is an
`AdminRefused`, anything else that went wrong an `AdminFailed`, both with a text safe to show.
"""

from __future__ import annotations

from typing import Any

import httpx

DATABASES = "/api/v3/configure/database"
DBRPS = "/api/v2/dbrps"


class AdminFailed(Exception):
    """An admin request failed; the text says how."""


class AdminRefused(AdminFailed):
    """The credentials may not do this (HTTP 401/403)."""


async def _send(client: httpx.AsyncClient, method: str, path: str, **kwargs: Any
                ) -> httpx.Response:
    try:
        response = await client.request(method, path, **kwargs)
    except httpx.HTTPError as exc:
        raise AdminFailed(f"{method} {path}: {type(exc).__name__}") from None
    if response.status_code in (401, 403):
        raise AdminRefused(f"{method} {path} answered HTTP {response.status_code}: these "
                           f"credentials may not manage the server ({response.text[:200]})")
    return response


def _failed(response: httpx.Response, what: str) -> AdminFailed:
    return AdminFailed(f"{what} answered HTTP {response.status_code}: {response.text[:300]}")


async def v3_databases(client: httpx.AsyncClient) -> list[str]:
    """The names of InfluxDB 3's databases (`db/rp` ones included)."""
    response = await _send(client, "GET", DATABASES, params={"format": "json"})
    if response.status_code != 200:
        raise _failed(response, f"GET {DATABASES}")
    try:
        rows = response.json()
    except ValueError:
        raise _failed(response, f"GET {DATABASES}") from None
    return [str(row.get("iox::database")) for row in rows if isinstance(row, dict)]


def _period(retention_s: int) -> dict[str, str]:
    return {"retention_period": f"{retention_s}s"} if retention_s else {}


async def v3_create_database(client: httpx.AsyncClient, name: str, retention_s: int) -> bool:
    """Create database `name` keeping data `retention_s` (0: forever); False if it existed."""
    response = await _send(client, "POST", DATABASES, json={"db": name, **_period(retention_s)})
    if response.status_code == 409:
        return False
    if response.status_code == 422 and "limit" in response.text:
        raise AdminFailed(f"InfluxDB 3 refused database {name!r}: {response.text[:200]} (Core "
                          "allows 5 databases; the logger needs its raw one and the ledger's: "
                          "delete one you do not use, or set [influx] database)")
    if response.status_code not in (200, 201, 204):
        raise _failed(response, f"POST {DATABASES}")
    return True


async def v3_set_retention(client: httpx.AsyncClient, name: str, retention_s: int) -> bool:
    """Set (0: clear) database `name`'s retention; False when this 3.x cannot (before 3.2)."""
    response = await _send(client, "PUT", DATABASES,
                           json={"db": name, **_period(retention_s)})
    if response.status_code in (404, 405):
        return False
    if response.status_code not in (200, 204):
        raise _failed(response, f"PUT {DATABASES}")
    return True


async def dbrps(client: httpx.AsyncClient, org_id: str, bucket_id: str) -> list[dict[str, Any]]:
    """The DBRP mappings of one bucket (virtual ones included where the server lists them)."""
    response = await _send(client, "GET", DBRPS, params={"orgID": org_id, "bucketID": bucket_id})
    if response.status_code != 200:
        raise _failed(response, f"GET {DBRPS}")
    try:
        content = response.json().get("content") or []
    except (ValueError, AttributeError):
        raise _failed(response, f"GET {DBRPS}") from None
    return [m for m in content if isinstance(m, dict)]


async def create_dbrp(client: httpx.AsyncClient, org_id: str, bucket_id: str, database: str,
                      rp: str, default: bool) -> None:
    """Map `database`/`rp` (InfluxQL's names) to the bucket."""
    body = {"orgID": org_id, "bucketID": bucket_id, "database": database,
            "retention_policy": rp, "default": default}
    response = await _send(client, "POST", DBRPS, json=body)
    if response.status_code not in (200, 201):
        raise _failed(response, f"POST {DBRPS}")
