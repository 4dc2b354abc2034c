"""InfluxQL over HTTP `/query`: the one query path InfluxDB 1.x, 2.x (DBRP) and 3.x all answer.

Gap detection, migrations, `check` and the demo read through `InfluxQL`; every answer that is not
the JSON InfluxDB documents becomes a `QueryError` with a message safe to show (no credentials).
"""

from __future__ import annotations

from typing import Any

import httpx

from logger.config import InfluxSettings
from logger.sink.http import influx_client


def quote_ident(name: str) -> str:
    """An InfluxQL identifier in double quotes."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def quote_string(value: str) -> str:
    """An InfluxQL string literal in single quotes (tag values in WHERE)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def query_target(settings: InfluxSettings) -> tuple[str, str]:
    """(database, retention policy) the logger writes into, as InfluxQL names them.

    API v1: `[influx] database`/`retention_policy`. API v2: the bucket name, split on `/` the
    way InfluxDB 1.8 and the 2.x virtual DBRP mapping read `db/rp` bucket names.
    """
    if settings.api == "v2":
        database, _, rp = settings.bucket.partition("/")
        return database, rp
    return settings.database, settings.retention_policy


class QueryError(Exception):
    """InfluxQL failed; the text is safe to show (no credentials in it)."""


class InfluxQL:
    """InfluxQL over HTTP `/query`: the query path InfluxDB 1.x, 2.x and 3.x all answer."""

    def __init__(self, settings: InfluxSettings) -> None:
        self._settings = settings
        self.database, self.retention_policy = query_target(settings)
        self._client = influx_client(settings)

    async def ping(self) -> str:
        """The server's version string; raises QueryError when it does not answer."""
        try:
            response = await self._client.get("/ping")
        except httpx.HTTPError as exc:
            raise QueryError(
                f"cannot reach {self._settings.display_url}: {type(exc).__name__}"
            ) from None
        if response.status_code not in (200, 204):
            raise QueryError(
                f"{self._settings.display_url}/ping answered HTTP {response.status_code}"
            )
        return response.headers.get("X-Influxdb-Version", "unknown version")

    async def query(self, statement: str, database: str | None = None) -> list[dict[str, Any]]:
        """Run one statement; returns the `series` list of its first result."""
        params = {"q": statement, "epoch": "s"}
        db = self.database if database is None else database
        if db:
            params["db"] = db
        if self.retention_policy and database is None:
            params["rp"] = self.retention_policy
        is_write = statement.lstrip().upper().startswith(("CREATE", "DROP", "ALTER", "DELETE"))
        try:
            if is_write:
                response = await self._client.post("/query", data=params)
            else:
                response = await self._client.get("/query", params=params)
        except httpx.HTTPError as exc:
            raise QueryError(
                f"cannot reach {self._settings.display_url}: {type(exc).__name__}"
            ) from None
        if response.status_code != 200:
            raise QueryError(f"/query answered HTTP {response.status_code}: "
                             f"{response.text.strip()[:300]}")
        try:
            payload = response.json()
        except ValueError:
            raise QueryError(
                f"/query answered HTTP 200 with a body that is not JSON: {response.text[:80]!r}"
            ) from None
        results = payload.get("results") if isinstance(payload, dict) else None
        if results == []:
            return []
        if not isinstance(results, list) or not isinstance(results[0], dict):
            raise QueryError(f"/query answered without a result: {response.text[:80]!r}")
        first = results[0]
        if "error" in first:
            raise QueryError(str(first["error"]))
        series = first.get("series") or []
        if not isinstance(series, list):
            raise QueryError(f"/query answered with malformed series: {response.text[:80]!r}")
        return series

    async def close(self) -> None:
        await self._client.aclose()
