"""InfluxDB migrations: create the database/bucket, set its retention, later schema changes.

The migrations themselves live in the top-level `migrations` package, one numbered module each
(`m0001_create_database.py`, ...), with `ID`, `DESCRIPTION` and
`async def apply(ctx, dry_run) -> list[str]`. Every migration is idempotent: it looks at what the
server has and changes only what differs, so applying one twice is harmless.

Which migrations were applied is recorded in InfluxDB itself, in the measurement
`_jullix_migrations` of the target database (tag `id`; fields `applied_at_s`, `version`,
`description`; timestamp = when it was applied), written through the normal writer. The record
therefore travels with the database (a restore, a move to another host). With a finite retention
the record eventually expires with the data around it; the next start then re-applies the
migrations, which is harmless because they are idempotent, and records them again.

A failing migration stops the run: it and every later one stay unrecorded, and the message names
the migration and what to do. `jullix-logger run` never writes into a database whose migrations
did not all succeed: it keeps every point in the outbox and retries the migrations with a backoff
(see `SinkGate`), so a server that is down or still starting costs nothing.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import pkgutil
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import httpx

from logger import __version__
from logger.config import InfluxSettings
from logger.influx import (
    USER_AGENT,
    InfluxQL,
    Outcome,
    QueryError,
    _auth_headers,
    _basic_auth,
    make_writer,
)

log = logging.getLogger(__name__)

RECORD_MEASUREMENT = "_jullix_migrations"
INFINITE = "INF"
_DURATION_PART = re.compile(r"(\d+)(w|d|h|m|s)")
_DURATION = re.compile(r"^(?:\d+(?:w|d|h|m|s))+$")
_UNIT_SECONDS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
_GO_PART = re.compile(r"(\d+(?:\.\d+)?)(h|m|s|ms|us|µs|ns)")
_GO_UNIT = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}


# -- retention --------------------------------------------------------------------------


def normalise_retention(value: str) -> str:
    """`INF` (keep forever) or an InfluxQL duration such as `52w`, `30d`, `720h` (>= 1 h)."""
    text = value.strip().lower().replace(" ", "")
    if text in ("inf", "infinite", "0", "0s", ""):
        return INFINITE
    if not _DURATION.match(text):
        raise ValueError(
            f"{value!r} is not a retention: use INF (keep forever) or a duration such as "
            "52w, 30d or 720h"
        )
    if retention_seconds(text) < 3600:
        raise ValueError(f"{value!r} is shorter than InfluxDB's minimum retention of 1h")
    return text


def retention_seconds(value: str) -> int:
    """Seconds of a normalised retention; 0 means infinite (as InfluxDB itself says)."""
    if value.upper() == INFINITE:
        return 0
    return sum(int(n) * _UNIT_SECONDS[unit] for n, unit in _DURATION_PART.findall(value))


def go_duration_seconds(text: str) -> int:
    """`8736h0m0s` (how InfluxDB 1.x shows a retention) as seconds; `0s` is infinite = 0."""
    return round(sum(float(n) * _GO_UNIT[unit] for n, unit in _GO_PART.findall(text)))


def describe_seconds(seconds: int) -> str:
    if seconds == 0:
        return "infinite"
    for unit in ("w", "d", "h", "m"):
        if seconds % _UNIT_SECONDS[unit] == 0:
            return f"{seconds // _UNIT_SECONDS[unit]}{unit}"
    return f"{seconds}s"


def quote_ident(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


# -- the server and the context migrations work with -------------------------------------


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
    async with httpx.AsyncClient(
        base_url=settings.url,
        timeout=settings.timeout,
        headers={"User-Agent": USER_AGENT, **_auth_headers(settings)},
        auth=_basic_auth(settings),
    ) as client:
        try:
            response = await client.get("/ping")
        except httpx.HTTPError as exc:
            raise ServerUnreachable(
                f"cannot reach InfluxDB at {settings.url}: {type(exc).__name__}"
            ) from None
    if response.status_code == 404:
        raise EndpointsMissing(f"{settings.url}/ping answered HTTP 404")
    if response.status_code not in (200, 204):
        raise ServerUnreachable(f"{settings.url}/ping answered HTTP {response.status_code}")
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

            from logger.influx import V2Writer

            self._v2_client = InfluxDBClient(
                url=self.settings.url,
                token=V2Writer._token(self.settings),
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


# -- discovery ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Migration:
    id: str
    description: str
    apply: Callable[[MigrationContext, bool], Awaitable[list[str]]]
    module: str
    # Optional: the settings the migration depends on, as a string. When it differs from the
    # recorded one (say `[influx] retention` changed), the migration is applied again.
    settings_key: Callable[[MigrationContext], str] | None = None


def discover(package: ModuleType | None = None) -> list[Migration]:
    """The migrations in `package` (default: `migrations`), sorted by ID."""
    if package is None:
        import migrations as package
    found: list[Migration] = []
    for info in pkgutil.iter_modules(package.__path__):
        match = re.fullmatch(r"m(\d{4})_\w+", info.name)
        if not match:
            continue
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        ident = getattr(module, "ID", None)
        if ident != match.group(1):
            raise RuntimeError(f"{module.__name__}: ID {ident!r} does not match its file name")
        found.append(Migration(
            ident, module.DESCRIPTION, module.apply, module.__name__,
            getattr(module, "settings_key", None),
        ))
    found.sort(key=lambda m: m.id)
    ids = [m.id for m in found]
    if len(ids) != len(set(ids)):
        raise RuntimeError(f"duplicate migration IDs in {package.__name__}: {ids}")
    return found


# -- running -----------------------------------------------------------------------------


@dataclass
class MigrationReport:
    server: ServerInfo | None = None
    applied: list[str] = field(default_factory=list)  # ids applied (or, dry run, to apply)
    already: list[str] = field(default_factory=list)  # ids found in the record
    lines: list[str] = field(default_factory=list)  # what was done / would be done
    error: str | None = None
    unreachable: bool = False
    endpoints_missing: bool = False  # no /ping or /query: nothing can be migrated here
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None


def _targets(settings: InfluxSettings) -> tuple[str, str]:
    if settings.api == "v2":
        database, _, rp = settings.bucket.partition("/")
        return database, rp
    return settings.database, settings.retention_policy


async def read_record(ctx: MigrationContext) -> dict[str, dict[str, Any]]:
    """The applied migrations by id, from `_jullix_migrations`; empty for a new database."""
    source = quote_ident(RECORD_MEASUREMENT)
    if ctx.rp:
        source = f"{quote_ident(ctx.rp)}.{source}"
    try:
        series = await ctx.influxql(f"SELECT * FROM {source}", database=ctx.database)
    except QueryError as exc:
        text = str(exc).lower()
        if "not found" in text or "does not exist" in text:
            return {}
        if text.startswith("cannot reach"):
            raise ServerUnreachable(str(exc)) from None
        if text.startswith("/query answered http 404"):
            raise EndpointsMissing(f"{ctx.settings.url}/query answered HTTP 404") from None
        if "http 401" in text or "http 403" in text:
            raise MigrationError(f"cannot read the migration record: {exc}") from None
        # e.g. InfluxDB 2.x before 2.4 without a DBRP mapping: cannot tell what was applied.
        # Every migration is idempotent, so applying them all again is safe.
        log.warning("cannot read the migration record (%s); re-checking every migration", exc)
        return {}
    record: dict[str, dict[str, Any]] = {}
    for one in series:
        columns = one.get("columns") or []
        for values in one.get("values") or []:
            row = dict(zip(columns, values, strict=False))
            ident = row.get("id")
            if ident:
                record[str(ident)] = row
    return record


def _escape_tag(value: str) -> str:
    return value.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=").replace(" ", "\\ ")


def _escape_string(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def record_line(migration: Migration, applied_at: float, settings_key: str = "") -> str:
    seconds = int(applied_at)
    return (
        f"{RECORD_MEASUREMENT},id={_escape_tag(migration.id)} "
        f"applied_at_s={float(seconds)!r},version=\"{_escape_string(__version__)}\","
        f"description=\"{_escape_string(migration.description)}\","
        f"settings=\"{_escape_string(settings_key)}\" {seconds}"
    )


async def write_record(settings: InfluxSettings, lines: Sequence[str]) -> None:
    writer = make_writer(settings)
    try:
        result = await writer.write(list(lines))
    finally:
        await writer.close()
    if result.outcome is not Outcome.OK:
        where = f"HTTP {result.status}" if result.status else "no answer"
        raise MigrationError(f"could not record the migrations ({where}: {result.message[:200]})")


async def run_migrations(
    settings: InfluxSettings,
    dry_run: bool = False,
    available: Sequence[Migration] | None = None,
) -> MigrationReport:
    """Apply every migration not yet recorded, in order; never raises for server problems."""
    report = MigrationReport(dry_run=dry_run)
    migrations = list(available) if available is not None else discover()
    try:
        report.server = await server_info(settings)
    except EndpointsMissing as exc:
        report.error, report.endpoints_missing = str(exc), True
        return report
    except ServerUnreachable as exc:
        report.error, report.unreachable = str(exc), True
        return report
    database, rp = _targets(settings)
    ctx = MigrationContext(
        settings, report.server, InfluxQL(settings), database, rp, settings.retention
    )
    done: list[str] = []
    try:
        try:
            record = await read_record(ctx)
        except MigrationError as exc:
            report.error = str(exc)
            report.unreachable = isinstance(exc, ServerUnreachable)
            report.endpoints_missing = isinstance(exc, EndpointsMissing)
            return report
        for migration in migrations:
            key = migration.settings_key(ctx) if migration.settings_key else ""
            recorded = record.get(migration.id)
            if recorded is not None and (not key or recorded.get("settings") == key):
                report.already.append(migration.id)
                continue
            try:
                lines = await migration.apply(ctx, dry_run)
            except (MigrationError, QueryError) as exc:
                report.error = f"migration {migration.id} ({migration.description}) failed: {exc}"
                break
            except Exception as exc:  # a bug in a migration: still one clear line
                report.error = (
                    f"migration {migration.id} ({migration.description}) failed unexpectedly: "
                    f"{type(exc).__name__}: {exc}"
                )
                log.debug("migration %s failed", migration.id, exc_info=True)
                break
            report.applied.append(migration.id)
            report.lines.extend(f"{migration.id} {line}" for line in lines)
            if not dry_run:
                done.append(record_line(migration, time.time(), key))
        if done:
            # Recorded together at the end, because a migration may create the retention
            # policy the record is written into; on a failure the ones that succeeded are
            # still recorded (best effort), the failed one and later ones are not.
            try:
                await write_record(settings, done)
            except MigrationError as exc:
                report.error = report.error or str(exc)
    finally:
        await ctx.close()
    return report


def format_report(report: MigrationReport, settings: InfluxSettings) -> list[str]:
    """The human lines `jullix-logger migrate` prints."""
    database, _rp = _targets(settings)
    where = f"bucket {settings.bucket!r}" if settings.api == "v2" else f"database {database!r}"
    lines = []
    if report.server is not None:
        lines.append(f"{report.server} at {settings.url}, API {settings.api}, {where}")
    lines.extend(report.lines)
    verb = "to apply" if report.dry_run else "applied"
    lines.append(
        f"{len(report.applied)} migration(s) {verb}, {len(report.already)} already applied"
        + ("; dry run: nothing was changed" if report.dry_run else "")
    )
    if report.error:
        lines.append(f"FAILED: {report.error}")
    return lines


class SinkGate:
    """Holds writes back until the migrations have succeeded, retrying them with a backoff.

    `ready` is true at once when there is no InfluxDB or `[influx] auto_migrate = false` (then
    the database is the user's business, e.g. managed with `jullix-logger migrate`).
    """

    RETRY_FIRST = 5.0
    RETRY_MAX = 120.0

    def __init__(self, settings: InfluxSettings) -> None:
        self.settings = settings
        self.ready = not settings.configured or not settings.auto_migrate
        self.state = "ready" if self.ready else "migrations not run yet"
        self.failures = 0
        self.next_try = 0.0
        self._last_error: str | None = None

    async def ensure(self) -> bool:
        """True once the database is migrated; otherwise tries again when the backoff allows."""
        if self.ready:
            return True
        if time.monotonic() < self.next_try:
            return False
        budget = max(30.0, self.settings.timeout * 10)
        try:
            report = await asyncio.wait_for(run_migrations(self.settings), budget)
        except TimeoutError:
            report = MigrationReport(error=f"migrations took longer than {budget:.0f} s")
        if report.ok:
            self.ready, self.state, self.failures = True, "ready", 0
            for line in report.lines:
                log.info("migration %s", line)
            log.info(
                "%s at %s ready: %d migration(s) applied, %d already applied",
                report.server, self.settings.url, len(report.applied), len(report.already),
            )
            return True
        if report.endpoints_missing:
            # Nothing can be migrated or recorded through an endpoint that only takes writes,
            # and nothing was half-applied either: write, and let InfluxDB's answers (a 404
            # for a missing bucket is retried, never dropped) speak for the database.
            self.ready, self.state, self.failures = True, "ready (not migrated)", 0
            log.warning(
                "%s: this InfluxDB endpoint takes no migrations; writing without them. Create "
                "the database/bucket and its retention yourself (`jullix-logger check` tells "
                "whether writes arrive)", report.error,
            )
            return True
        self.failures += 1
        delay = min(self.RETRY_MAX, self.RETRY_FIRST * 2 ** (self.failures - 1))
        self.next_try = time.monotonic() + delay
        error = report.error or "unknown error"
        self.state = ("InfluxDB unreachable" if report.unreachable else "migrations failing")
        level = logging.WARNING if report.unreachable else logging.ERROR
        if error != self._last_error:
            log.log(
                level,
                "%s; not writing into a database that is not fully migrated: points stay in "
                "the outbox; next try in %.0f s (`jullix-logger migrate` shows details)",
                error, delay,
            )
            self._last_error = error
        else:
            log.debug("migrations still failing (%s); next try in %.0f s", error, delay)
        return False
