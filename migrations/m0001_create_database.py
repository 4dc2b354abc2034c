"""Create the database (API v1) or the bucket (API v2) the logger writes into.

API v1: `CREATE DATABASE` (InfluxDB 1.x). API v2: the bucket through influxdb-client's buckets
API, created with `[influx] retention`; InfluxDB 1.8 has no buckets API (404), so there the
database part of `db/rp` is created with InfluxQL. InfluxDB 3 (Core, Enterprise): the database
through `/api/v3/configure/database` with the retention (InfluxQL there has no CREATE); with a
token that may not, the first write creates it (keeping data forever).
"""

from __future__ import annotations

from logger.sink.influxql import quote_ident
from logger.sink.migration_context import BucketsApiMissing, MigrationContext

ID = "0001"
DESCRIPTION = "create the database or bucket"


async def _create_database(ctx: MigrationContext, dry_run: bool, why: str = "") -> list[str]:
    name = ctx.database
    if name in await ctx.databases():
        return [f"database {name!r} exists{why}"]
    if dry_run:
        return [f"would CREATE DATABASE {quote_ident(name)}{why}"]
    await ctx.influxql(f"CREATE DATABASE {quote_ident(name)}")
    return [f"created database {name!r}{why}"]


async def apply(ctx: MigrationContext, dry_run: bool) -> list[str]:
    if ctx.server.is_v3:
        return await ctx.ensure_v3_database(dry_run)
    if ctx.api == "v1":
        return await _create_database(ctx, dry_run)
    try:
        bucket = await ctx.find_bucket()
    except BucketsApiMissing:
        return await _create_database(
            ctx, dry_run, " (no buckets API, InfluxDB 1.8: used InfluxQL)"
        )
    if bucket is not None:
        return [f"bucket {bucket.name!r} exists"]
    if dry_run:
        return [f"would create bucket {ctx.settings.bucket!r} with retention {ctx.retention}"]
    await ctx.create_bucket()
    return [f"created bucket {ctx.settings.bucket!r} with retention {ctx.retention}"]
