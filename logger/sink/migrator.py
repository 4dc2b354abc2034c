"""InfluxDB migrations: create the database/bucket, set its retention, later schema changes.

The migrations themselves live in the top-level `migrations/` folder (installed as the
package `logger.sink.migrations`), one numbered module each
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
(see `logger.sink.gate.SinkGate`), so a server that is down or still starting costs nothing.

Two exceptions keep an optional part from blocking the core (issue 19):
- A migration of an optional feature (`FEATURE = "ledger"` in its module: 0003, the ledger's
  retention policy or bucket) that fails is reported per feature (`feature_errors`), the later
  migrations still run, and the raw series are written; the feature stays off until it works.
- Credentials that may write but not manage the database (InfluxDB's 403: a non-admin user, a
  write-only token) cannot migrate anything: `not_permitted` says so, and the raw series are
  written without migrations (the database must exist), while every feature migration counts
  as failed with that reason.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from logger.config import InfluxSettings
from logger.core.line_protocol import format_fields, series_key
from logger.core.logs import get_logger
from logger.core.version import __version__
from logger.sink.influxql import InfluxQL, QueryError, query_target, quote_ident
from logger.sink.migration_context import (
    EndpointsMissing,
    MigrationContext,
    MigrationError,
    NotPermitted,
    ServerInfo,
    ServerUnreachable,
    server_info,
)
from logger.sink.writers import Outcome, make_writer

log = get_logger(__name__)

RECORD_MEASUREMENT = "_jullix_migrations"
MIGRATIONS_PACKAGE = "logger.sink.migrations"


@dataclass(frozen=True, slots=True)
class Migration:
    id: str
    description: str
    apply: Callable[[MigrationContext, bool], Awaitable[list[str]]]
    module: str
    # Optional: the settings the migration depends on, as a string. When it differs from the
    # recorded one (say `[influx] raw_retention` changed), the migration is applied again.
    settings_key: Callable[[MigrationContext], str] | None = None
    feature: str | None = None  # an optional feature's migration: never blocks raw writes


def discover(package: ModuleType | None = None) -> list[Migration]:
    """The migrations in `package` (default: `logger.sink.migrations`, which setuptools maps
    from the top-level `migrations/` folder), sorted by ID. Loaded by name, never imported
    statically: the migrations import `migration_context`, not this runner."""
    if package is None:
        package = importlib.import_module(MIGRATIONS_PACKAGE)
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
            getattr(module, "settings_key", None), getattr(module, "FEATURE", None),
        ))
    found.sort(key=lambda m: m.id)
    ids = [m.id for m in found]
    if len(ids) != len(set(ids)):
        raise RuntimeError(f"duplicate migration IDs in {package.__name__}: {ids}")
    return found


@dataclass
class MigrationReport:
    server: ServerInfo | None = None
    applied: list[str] = field(default_factory=list)  # ids applied (or, dry run, to apply)
    already: list[str] = field(default_factory=list)  # ids found in the record
    lines: list[str] = field(default_factory=list)  # what was done / would be done
    error: str | None = None
    unreachable: bool = False
    endpoints_missing: bool = False  # no /ping or /query: nothing can be migrated here
    not_permitted: bool = False  # the credentials may not manage the database (HTTP 403)
    dry_run: bool = False
    # Optional features whose migration failed, with the one line why (raw writes go on).
    feature_errors: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """The raw series' migrations succeeded (a feature's may still have failed)."""
        return self.error is None


def not_permitted(text: str) -> bool:
    """Whether an error says the credentials may not do this (rather than that it failed)."""
    lowered = text.lower()
    return ("http 403" in lowered or "not authorized" in lowered
            or "requires admin privilege" in lowered or "insufficient permissions" in lowered)


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
            raise EndpointsMissing(f"{ctx.settings.display_url}/query answered HTTP 404") from None
        if "not json" in text:  # a web server or a login page, not InfluxDB: nothing to migrate
            raise MigrationError(
                f"{ctx.settings.display_url} does not answer like InfluxDB: {exc}") from None
        if not_permitted(text):
            raise NotPermitted(f"cannot read the migration record: {exc}") from None
        if "http 401" in text and ctx.server.opaque_401:
            raise NotPermitted(
                f"cannot read the migration record: {exc} ({ctx.server} answers a token that "
                "may not read and a wrong one alike; the writes tell which it is)") from None
        if "http 401" in text:
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


def record_line(migration: Migration, applied_at: float, settings_key: str = "") -> str:
    seconds = int(applied_at)
    fields = {"applied_at_s": float(seconds), "version": __version__,
              "description": migration.description, "settings": settings_key}
    return (f"{series_key(RECORD_MEASUREMENT, {'id': migration.id})} "
            f"{format_fields(fields)} {seconds}")


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
    ledger: InfluxSettings | None = None,
) -> MigrationReport:
    """Apply every migration not yet recorded, in order; never raises for server problems.

    `ledger`: the energy ledger's target (`logger.sink.targets.ledger_influx`), for 0003."""
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
    database, rp = query_target(settings)
    ctx = MigrationContext(
        settings, report.server, InfluxQL(settings), database, rp, settings.raw_retention,
        ledger=ledger,
    )
    done: list[str] = []
    try:
        try:
            record = await read_record(ctx)
        except MigrationError as exc:
            report.error = str(exc)
            report.unreachable = isinstance(exc, ServerUnreachable)
            report.endpoints_missing = isinstance(exc, EndpointsMissing)
            if isinstance(exc, NotPermitted):
                _not_permitted(report, migrations, str(exc))
            return report
        for migration in migrations:
            if migration.feature in report.feature_errors:
                continue  # a feature whose earlier migration failed: its later ones wait
            key = migration.settings_key(ctx) if migration.settings_key else ""
            recorded = record.get(migration.id)
            if recorded is not None and (not key or recorded.get("settings") == key):
                report.already.append(migration.id)
                continue
            refused = False
            try:
                lines = await migration.apply(ctx, dry_run)
            except (MigrationError, QueryError) as exc:
                error = f"migration {migration.id} ({migration.description}) failed: {exc}"
                refused = isinstance(exc, NotPermitted) or not_permitted(str(exc))
            except Exception as exc:  # a bug in a migration: still one clear line
                error = (f"migration {migration.id} ({migration.description}) failed "
                         f"unexpectedly: {type(exc).__name__}: {exc}")
                log.debug("migration %s failed", migration.id, exc_info=True)
            else:
                report.applied.append(migration.id)
                report.lines.extend(f"{migration.id} {line}" for line in lines)
                if not dry_run:
                    done.append(record_line(migration, time.time(), key))
                continue
            if migration.feature is not None:
                report.feature_errors[migration.feature] = error
                continue
            report.error = error
            if refused:
                _not_permitted(report, migrations, error)
            break
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


def _not_permitted(report: MigrationReport, migrations: Sequence[Migration], error: str
                   ) -> None:
    """These credentials may not manage the database: every feature migration not applied
    yet counts as failed for that reason (the raw series are written without migrations)."""
    report.not_permitted = True
    for migration in migrations:
        if migration.feature is not None and migration.id not in report.applied:
            report.feature_errors.setdefault(
                migration.feature,
                f"migration {migration.id} ({migration.description}) could not run: these "
                f"credentials may not manage the database ({error[:200]}); run `jullix-logger "
                f"migrate` once with an admin's credentials, or create it as "
                f"docs/influxdb.md says")


def format_report(report: MigrationReport, settings: InfluxSettings) -> list[str]:
    """The human lines `jullix-logger migrate` prints."""
    database, _rp = query_target(settings)
    where = f"bucket {settings.bucket!r}" if settings.api == "v2" else f"database {database!r}"
    lines = []
    if report.server is not None:
        lines.append(f"{report.server} at {settings.display_url}, API {settings.api}, {where}")
    lines.extend(report.lines)
    verb = "to apply" if report.dry_run else "applied"
    lines.append(
        f"{len(report.applied)} migration(s) {verb}, {len(report.already)} already applied"
        + ("; dry run: nothing was changed" if report.dry_run else "")
    )
    if report.error:
        lines.append(f"FAILED: {report.error}")
    for feature, error in sorted(report.feature_errors.items()):
        lines.append(f"FAILED ({feature}: the {feature} stays off, raw logging goes on): {error}")
    return lines
