"""What a migration works with: the server it talks to (`ServerInfo`), its errors, and
`MigrationContext` with small helpers for InfluxQL and the API v2 buckets API.

The numbered migrations (top-level `migrations/`, installed as `logger.sink.migrations`) import
this module; the runner (`logger.sink.migrator`) loads them by name, so neither imports the other.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from logger.config import InfluxSettings
from logger.core.durations import INFINITE, retention_seconds
from logger.sink.http import influx_client, v2_token
from logger.sink.influxql import InfluxQL


class MigrationError(Exception):
    """A migration could not be applied; the text says what to do about it."""


class ServerUnreachable(MigrationError):
    """InfluxDB did not answer /ping: nothing was tried."""


class EndpointsMissing(MigrationError):
    """The server answers, but has no `/ping` or no InfluxQL `/query` (HTTP 404): a write-only
    endpoint (a proxy, a managed service). Migrations cannot be applied or recorded there."""


@dataclass(frozen=True, slots=True)
class ServerInfo:
    """What `/ping` says: `X-Influxdb-Version` and `X-Influxdb-Build`."""

    version: str
    build: str = ""

    @property
    def major(self) -> int | None:
        match = re.match(r"v?(\d+)", self.version.strip())
        return int(match.group(1)) if match else None

    @property
    def is_v3(self) -> bool:
        """InfluxDB 3 (Core, Enterprise): version 3.x, or a 3.x build name in the header."""
        return self.major == 3 or self.build.strip().lower() in ("core", "enterprise")

    def __str__(self) -> str:
        build = f" ({self.build})" if self.build else ""
        return f"InfluxDB {self.version or 'of unknown version'}{build}"


async def server_info(settings: InfluxSettings) -> ServerInfo:
    async with influx_client(settings) as client:
        try:
            response = await client.get("/ping")
        except httpx.HTTPError as exc:
            raise ServerUnreachable(
                f"cannot reach InfluxDB at {settings.display_url}: {type(exc).__name__}"
            ) from None
    if response.status_code == 404:
        raise EndpointsMissing(f"{settings.display_url}/ping answered HTTP 404")
    if response.status_code not in (200, 204):
        raise ServerUnreachable(f"{settings.display_url}/ping answered HTTP {response.status_code}")
    return ServerInfo(
        response.headers.get("X-Influxdb-Version", ""),
        response.headers.get("X-Influxdb-Build", ""),
    )


class BucketsApiMissing(Exception):
    """The server has no `/api/v2/buckets` (HTTP 404): InfluxDB 1.8 (or older)."""


class NotPermitted(MigrationError):
    """The token may not read or manage buckets (HTTP 401/403)."""


@dataclass(frozen=True, slots=True)
class Bucket:
    name: str
    retention_s: int  # 0 = infinite
    raw: Any = None


@dataclass
class MigrationContext:
    """What a migration gets: the settings, the server, and small helpers to talk to it.

    `database`/`rp` are where the logger writes: `[influx] database`/`retention_policy` for
    API v1; for API v2 the bucket name, split on `/` the way InfluxDB 1.8 and the 2.x virtual
    DBRP mapping read `db/rp` bucket names.
    """

    settings: InfluxSettings
    server: ServerInfo
    ql: InfluxQL
    database: str
    rp: str
    retention: str
    _v2_client: Any = None
    notes: list[str] = field(default_factory=list)
    # Where the ledger goes (`logger.sink.targets.ledger_influx`): the same server, its own
    # retention policy or bucket; None when the caller did not say (migration 0003 then waits).
    ledger: InfluxSettings | None = None

    @property
    def api(self) -> str:
        return self.settings.api

    @property
    def retention_s(self) -> int:
        return retention_seconds(self.retention)

    async def influxql(self, statement: str, database: str = "") -> list[dict[str, Any]]:
        return await self.ql.query(statement, database=database)

    async def databases(self) -> list[str]:
        series = await self.influxql("SHOW DATABASES")
        return [row[0] for s in series for row in s.get("values") or []]

    # -- API v2 buckets, through influxdb-client (blocking: run in a worker thread) -------

    def _buckets_api(self) -> Any:
        if self._v2_client is None:
            from influxdb_client import InfluxDBClient

            self._v2_client = InfluxDBClient(
                url=self.settings.url,
                token=v2_token(self.settings),
                org=self.settings.org,
                timeout=int(self.settings.timeout * 1000),
            )
        return self._v2_client.buckets_api()

    async def _buckets_call(self, call: Callable[[Any], Any]) -> Any:
        from influxdb_client.rest import ApiException

        def run() -> Any:
            return call(self._buckets_api())

        try:
            return await asyncio.to_thread(run)
        except ApiException as exc:
            status = getattr(exc, "status", None)
            if status == 404:
                raise BucketsApiMissing() from None
            if status in (401, 403):
                raise NotPermitted(
                    f"the token may not read or create buckets (HTTP {status}). Create bucket "
                    f"{self.settings.bucket!r} with retention {self.retention} by hand, e.g. "
                    f"`influx bucket create --org {self.settings.org} --name "
                    f"{self.settings.bucket} --retention {_influx_cli_retention(self.retention)}`"
                    ", or use a token with read/write access to buckets"
                ) from None
            reason = (getattr(exc, "reason", "") or "").strip()
            raise MigrationError(f"buckets API answered HTTP {status} {reason}".strip()) from None
        except Exception as exc:  # urllib3 connection errors and timeouts
            raise MigrationError(f"buckets API: {type(exc).__name__}: {exc}"[:300]) from None

    async def find_bucket(self) -> Bucket | None:
        name = self.settings.bucket
        found = await self._buckets_call(lambda api: api.find_bucket_by_name(name))
        if found is None:
            return None
        seconds = 0
        for rule in found.retention_rules or []:
            if getattr(rule, "type", "expire") == "expire":
                seconds = int(rule.every_seconds or 0)
        return Bucket(found.name, seconds, found)

    async def create_bucket(self) -> None:
        from influxdb_client import BucketRetentionRules

        rules = [BucketRetentionRules(type="expire", every_seconds=self.retention_s)]
        name, org = self.settings.bucket, self.settings.org
        await self._buckets_call(
            lambda api: api.create_bucket(bucket_name=name, retention_rules=rules, org=org)
        )

    async def set_bucket_retention(self, bucket: Bucket) -> None:
        from influxdb_client import BucketRetentionRules

        raw = bucket.raw
        raw.retention_rules = [BucketRetentionRules(type="expire", every_seconds=self.retention_s)]
        await self._buckets_call(lambda api: api.update_bucket(raw))

    async def close(self) -> None:
        await self.ql.close()
        if self._v2_client is not None:
            await asyncio.to_thread(self._v2_client.close)


def _influx_cli_retention(retention: str) -> str:
    return "0" if retention == INFINITE else retention
