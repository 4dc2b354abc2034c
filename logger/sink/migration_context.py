"""What a migration works with: the server it talks to (`ServerInfo`, the detected
`logger.sink.flavour.Flavour`), its errors, and `MigrationContext` with small helpers for
InfluxQL, the API v2 buckets API and, per flavour, the admin APIs (`logger.sink.admin_api`:
InfluxDB 3's databases, 2.x's DBRP mappings).

The numbered migrations (top-level `migrations/`, installed as `logger.sink.migrations`) import
this module; the runner (`logger.sink.migrator`) loads them by name, so neither imports the other.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from logger.config import InfluxSettings
from logger.core.durations import INFINITE, describe_seconds, retention_seconds
from logger.sink import admin_api
from logger.sink.flavour import Flavour, PingFailed, detect
from logger.sink.http import influx_client, v2_token
from logger.sink.influxql import InfluxQL


class MigrationError(Exception):
    """A migration could not be applied; the text says what to do about it."""


class ServerUnreachable(MigrationError):
    """InfluxDB did not answer /ping: nothing was tried."""


class EndpointsMissing(MigrationError):
    """The server answers, but has no `/ping` or no InfluxQL `/query` (HTTP 404): a write-only
    endpoint (a proxy, a managed service). Migrations cannot be applied or recorded there."""


ServerInfo = Flavour  # what the migrations call the server they talk to


async def server_info(settings: InfluxSettings) -> Flavour:
    """The server's flavour (`logger.sink.flavour.detect`), its failures as migration errors."""
    async with influx_client(settings) as client:
        try:
            return await detect(client, settings.display_url)
        except PingFailed as exc:
            if exc.status == 404:
                raise EndpointsMissing(str(exc)) from None
            raise ServerUnreachable(str(exc).replace("cannot reach ",
                                                     "cannot reach InfluxDB at ")) from None


class BucketsApiMissing(Exception):
    """The server has no `/api/v2/buckets` (HTTP 404): InfluxDB 1.8 (or older)."""


class NotPermitted(MigrationError):
    """The credentials may not read or manage the database, bucket or mapping (HTTP 401/403,
    or a token that cannot even see its organisation)."""


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

    @property
    def v3_database(self) -> str:
        """The InfluxDB 3 database the logger's `database`/`rp` land in: `db/rp`, or `db`
        for no policy or `autogen` (InfluxDB 3's v1 compatibility rule)."""
        if self.rp and self.rp not in ("autogen", "default"):
            return f"{self.database}/{self.rp}"
        return self.database

    async def ensure_v3_database(self, dry_run: bool) -> list[str]:
        """InfluxDB 3: `v3_database` exists, created with `retention` when it did not; its
        retention set when it did (where the server can: 3.2 and later)."""
        name, kept = self.v3_database, keeps(self.retention_s)
        try:
            exists = name in await self.admin(admin_api.v3_databases)
            if not exists and dry_run:
                return [f"would create database {name!r} keeping data {kept}"]
            if not exists:
                await self.admin(lambda c: admin_api.v3_create_database(c, name,
                                                                         self.retention_s))
                return [f"created database {name!r} keeping data {kept}"]
            if dry_run:
                return [f"database {name!r} exists; would set it to keep data {kept}"]
            if await self.admin(lambda c: admin_api.v3_set_retention(c, name, self.retention_s)):
                return [f"database {name!r} exists, keeps data {kept}"]
        except NotPermitted as exc:
            raise NotPermitted(
                f"{exc}. Create database {name!r} with an admin token (`influxdb3 create "
                f"database {name}" + ("" if not self.retention_s else
                                      f" --retention-period {self.retention}")
                + "`) and give this token write (and read) on it") from None
        return [f"database {name!r} exists; this InfluxDB 3 cannot change its retention "
                f"(3.2 and later can): it keeps what it was created with, not {kept}"]

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
            if "cannot find organization" in str(exc):  # a write-only token sees no org
                raise NotPermitted(
                    f"the token cannot see organisation {self.settings.org!r}, so it may not "
                    f"create buckets. Create bucket {self.settings.bucket!r} with retention "
                    f"{self.retention} by hand (`influx bucket create --org "
                    f"{self.settings.org} --name {self.settings.bucket} --retention "
                    f"{_influx_cli_retention(self.retention)}`) and give this token write on "
                    "it (and read, for the ledger and gap detection)") from None
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

    def for_bucket(self, bucket: str) -> MigrationContext:
        """The same context for another bucket of the same server (the ledger's)."""
        return dataclasses.replace(self, settings=self.settings.model_copy(
            update={"bucket": bucket}))

    # -- per flavour: InfluxDB 3's databases, 2.x's and Cloud's DBRP mappings -------------

    async def admin(self, call: Callable[[httpx.AsyncClient], Any]) -> Any:
        """Run one `logger.sink.admin_api` call; its refusals as migration errors."""
        async with influx_client(self.settings) as client:
            try:
                return await call(client)
            except admin_api.AdminRefused as exc:
                raise NotPermitted(str(exc)) from None
            except admin_api.AdminFailed as exc:
                raise MigrationError(str(exc)) from None

    async def close(self) -> None:
        await self.ql.close()
        if self._v2_client is not None:
            await asyncio.to_thread(self._v2_client.close)


def keeps(seconds: int) -> str:
    """`forever`, `for 400d`: how long data is kept, in the migrations' lines."""
    return "forever" if seconds == 0 else f"for {describe_seconds(seconds)}"


def _influx_cli_retention(retention: str) -> str:
    return "0" if retention == INFINITE else retention
