"""Give the data the retention `[influx] retention` asks for (default INF: keep forever).

API v1 (and API v2 against InfluxDB 1.8): the retention policy the logger writes into, i.e.
`[influx] retention_policy` or, when that is empty, `autogen` (the default policy every 1.x
database gets, and the one InfluxDB 2.x's virtual DBRP mapping names). It is ALTERed to the
wanted duration, or CREATEd when missing (`autogen` then as DEFAULT). The logger deliberately does
not create a separate "jullix" policy as DEFAULT: data already in `autogen` would disappear from
every query that does not name a policy, and dashboards rarely do.

API v2 (InfluxDB 2.x, Cloud): the bucket's retention rule. InfluxDB 3: the database's
retention period through `/api/v3/configure/database` (3.2 and later; before, it is fixed at
creation and that is said).
"""

from __future__ import annotations

from logger.core.durations import describe_seconds, go_duration_seconds
from logger.sink.influxql import quote_ident
from logger.sink.migration_context import (
    BucketsApiMissing,
    MigrationContext,
    MigrationError,
    keeps,
)

ID = "0002"
DESCRIPTION = "set the retention"


def settings_key(ctx: MigrationContext) -> str:
    """Applied again whenever `[influx] retention` changes."""
    return f"retention={ctx.retention}"


async def _influxql_policy(ctx: MigrationContext, dry_run: bool) -> list[str]:
    rp = ctx.rp or "autogen"
    db = ctx.database
    want = ctx.retention_s
    duration = "INF" if want == 0 else ctx.retention
    if db not in await ctx.databases():
        if dry_run:
            return [f"would set retention policy {rp!r} on {db!r} to {describe_seconds(want)}"]
        raise MigrationError(f"database {db!r} does not exist (migration 0001 should create it)")
    series = await ctx.influxql(f"SHOW RETENTION POLICIES ON {quote_ident(db)}")
    policies = {}
    for one in series:
        columns = one.get("columns") or []
        for values in one.get("values") or []:
            row = dict(zip(columns, values, strict=False))
            policies[row.get("name")] = row
    target = f"retention policy {rp!r} on {db!r}"
    if rp not in policies:
        default = " DEFAULT" if rp == "autogen" or not any(
            p.get("default") for p in policies.values()
        ) else ""
        if dry_run:
            return [f"would create {target} with duration {describe_seconds(want)}{default}"]
        await ctx.influxql(
            f"CREATE RETENTION POLICY {quote_ident(rp)} ON {quote_ident(db)} "
            f"DURATION {duration} REPLICATION 1{default}"
        )
        return [f"created {target} with duration {describe_seconds(want)}{default}"]
    have = go_duration_seconds(str(policies[rp].get("duration", "0s")))
    if have == want:
        return [f"{target} already keeps data {keeps(want)}"]
    change = f"from {describe_seconds(have)} to {describe_seconds(want)}"
    if dry_run:
        return [f"would change {target} {change}"]
    await ctx.influxql(
        f"ALTER RETENTION POLICY {quote_ident(rp)} ON {quote_ident(db)} DURATION {duration}"
    )
    return [f"changed {target} {change}"]


async def apply(ctx: MigrationContext, dry_run: bool) -> list[str]:
    if ctx.server.is_v3:
        return await ctx.ensure_v3_database(dry_run)
    if ctx.api == "v1":
        return await _influxql_policy(ctx, dry_run)
    try:
        bucket = await ctx.find_bucket()
    except BucketsApiMissing:
        return [
            line + " (no buckets API, InfluxDB 1.8: used InfluxQL)"
            for line in await _influxql_policy(ctx, dry_run)
        ]
    want = ctx.retention_s
    if bucket is None:
        if dry_run:
            return [f"bucket {ctx.settings.bucket!r} would be created with this retention"]
        raise MigrationError(f"bucket {ctx.settings.bucket!r} does not exist")
    if bucket.retention_s == want:
        return [f"bucket {bucket.name!r} already keeps data {keeps(want)}"]
    change = f"from {describe_seconds(bucket.retention_s)} to {describe_seconds(want)}"
    if dry_run:
        return [f"would change bucket {bucket.name!r} retention {change}"]
    await ctx.set_bucket_retention(bucket)
    return [f"changed bucket {bucket.name!r} retention {change}"]
