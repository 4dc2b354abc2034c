"""Give the energy ledger its own place, kept for `[ledger] retention` (default INF: forever),
so the raw series may get a finite `[influx] retention` without losing the energy history.

API v1 (and API v2 against InfluxDB 1.8): the retention policy `[ledger] retention_policy`
(default `ledger`) on the database, created (never as DEFAULT: raw data keeps going where it
went) or ALTERed to the wanted duration. API v2 (InfluxDB 2.x, Cloud): the bucket
`<database>/<retention_policy>`, which the 2.x virtual DBRP mapping exposes to InfluxQL as that
database and policy. InfluxDB 3: the database `<database>/<retention_policy>` (what a v1 `db` +
`rp` and the bucket of that name both land in), with the ledger's retention.
"""

from __future__ import annotations

import dataclasses

from logger.sink.migration_context import BucketsApiMissing, MigrationContext, keeps

from .m0002_retention_policy import _influxql_policy

ID = "0003"
DESCRIPTION = "a retention policy or bucket for the energy ledger"
FEATURE = "ledger"  # optional: when it fails, the ledger stays off and raw logging goes on


def settings_key(ctx: MigrationContext) -> str:
    """Applied again when the ledger's policy/bucket name or retention changes."""
    if ctx.ledger is None:
        return "ledger=unknown"
    target = ctx.ledger.bucket if ctx.api == "v2" else ctx.ledger.retention_policy
    return f"ledger={target};retention={ctx.ledger.raw_retention}"


def _ledger_ctx(ctx: MigrationContext) -> MigrationContext:
    assert ctx.ledger is not None
    ledger = ctx.ledger
    rp = ledger.bucket.partition("/")[2] if ctx.api == "v2" else ledger.retention_policy
    return dataclasses.replace(ctx, settings=ledger, rp=rp, retention=ledger.raw_retention)


async def apply(ctx: MigrationContext, dry_run: bool) -> list[str]:
    if ctx.ledger is None:
        return ["no ledger target given (an old caller): nothing changed; applied again once "
                "the service or `jullix-logger migrate` gives it"]
    lctx = _ledger_ctx(ctx)
    if ctx.server.is_v3:
        return await lctx.ensure_v3_database(dry_run)
    if ctx.api == "v1":
        return await _influxql_policy(lctx, dry_run)
    try:
        bucket = await lctx.find_bucket()
    except BucketsApiMissing:
        return [line + " (no buckets API, InfluxDB 1.8: used InfluxQL)"
                for line in await _influxql_policy(lctx, dry_run)]
    name = lctx.settings.bucket
    if bucket is None:
        if dry_run:
            return [f"would create bucket {name!r} with retention {lctx.retention}"]
        await lctx.create_bucket()
        return [f"created bucket {name!r} keeping data {keeps(lctx.retention_s)}"]
    if bucket.retention_s == lctx.retention_s:
        return [f"bucket {name!r} already keeps data {keeps(lctx.retention_s)}"]
    if dry_run:
        return [f"would change bucket {name!r} to keep data {keeps(lctx.retention_s)}"]
    await lctx.set_bucket_retention(bucket)
    return [f"changed bucket {name!r} to keep data {keeps(lctx.retention_s)}"]
