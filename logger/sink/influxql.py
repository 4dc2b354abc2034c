"""InfluxQL over HTTP `/query`: the one query path InfluxDB 1.x, 2.x (DBRP) and 3.x all answer.

Gap detection, migrations, `check` and the demo read through `InfluxQL`; every answer that is not
the JSON InfluxDB documents becomes a `QueryError` with a message safe to show (no credentials).
A query InfluxDB 3 Core refuses because of the range it covers (its query file limit) is a
`SpanRefused`, which `logger.sink.windows` answers by reading that range in smaller windows.
The reader knows which server it talks to (`flavour()`, detected once) and how far one of its
queries may reach (`read_span()`: `[influx] max_query_span`, automatic for 3 Core).
"""

from __future__ import annotations

from typing import Any

import httpx

from logger.config import InfluxSettings
from logger.sink.flavour import Flavour, PingFailed, detect, span_seconds
from logger.sink.http import influx_client
from logger.sink.query_errors import QueryError, SpanRefused, refused_for_span
from logger.sink.windows import ReadSpan

__all__ = ["InfluxQL", "QueryError", "SpanRefused", "query_target", "quote_ident",
           "quote_string"]


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




class InfluxQL:
    """InfluxQL over HTTP `/query`: the query path InfluxDB 1.x, 2.x and 3.x all answer."""

    def __init__(self, settings: InfluxSettings) -> None:
        self._settings = settings
        self.database, self.retention_policy = query_target(settings)
        self._client = influx_client(settings)
        self._flavour: Flavour | None = None
        self._span: ReadSpan | None = None

    async def flavour(self) -> Flavour:
        """Which InfluxDB this is (`logger.sink.flavour`), asked once; QueryError when
        `/ping` does not answer."""
        if self._flavour is None:
            try:
                self._flavour = await detect(self._client, self._settings.display_url)
            except PingFailed as exc:
                raise QueryError(str(exc)) from None
        return self._flavour

    async def ping(self) -> str:
        """The server's version string; raises QueryError when it does not answer."""
        return (await self.flavour()).version or "unknown version"

    async def read_span(self) -> ReadSpan:
        """The `ReadSpan` of this reader: `[influx] max_query_span`, or
        for `auto` the server's own bound (InfluxDB 3 Core: 24 h; others: none). Shared by
        every read of this reader, so a narrowing after a refusal holds for the next ones. A server
that does not answer `/ping` gets no bound (its queries say for themselves what they get)."""
        if self._span is None:
            try:
                flavour: Flavour | None = await self.flavour()
            except QueryError:  # no /ping: no bound known; a refusal still narrows it
                flavour = None
            self._span = ReadSpan(span_seconds(self._settings.max_query_span, flavour))
        return self._span

    def source(self, measurement: str) -> str:
        """`measurement` as the FROM of a query of the logger's own series: qualified with
        database and retention policy when a policy is set, because InfluxDB 3 resolves
        `db/rp` from the statement only (it ignores the `rp` parameter of `/query`)."""
        if self.retention_policy:
            return (f"{quote_ident(self.database)}.{quote_ident(self.retention_policy)}."
                    f"{quote_ident(measurement)}")
        return quote_ident(measurement)

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
            text = str(first["error"])
            raise (SpanRefused if refused_for_span(text) else QueryError)(text)
        series = first.get("series") or []
        if not isinstance(series, list):
            raise QueryError(f"/query answered with malformed series: {response.text[:80]!r}")
        return series

    async def close(self) -> None:
        await self._client.aclose()
