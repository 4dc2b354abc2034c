"""Give InfluxQL a way into the buckets (InfluxDB 2.x, Cloud): a DBRP mapping for the raw
bucket (`<database>` / `autogen`, or the `db/rp` its name says, as the default policy) and for
the ledger's bucket (`<database>` / `<ledger policy>`).

The logger reads only with InfluxQL over `/query` (gap detection, the ledger, `backfill
--undo`'s counts), which finds a bucket through such a mapping. InfluxDB 2.4 and later give
every bucket a virtual one (listed by `/api/v2/dbrps` too): then nothing is done. Cloud
Serverless and 2.x before 2.4 need one created. Other servers (1.x, InfluxDB 3) have no
mappings: nothing to do.

Optional (the ledger's): when the token may not list or create mappings, raw logging goes on
and the ledger says why it is off.
"""

from __future__ import annotations

from logger.sink import admin_api
from logger.sink.migration_context import MigrationContext, MigrationError

ID = "0004"
DESCRIPTION = "DBRP mappings so that InfluxQL reads the buckets (InfluxDB 2.x, Cloud)"
FEATURE = "ledger"


def settings_key(ctx: MigrationContext) -> str:
    """Applied again when a bucket's name changes."""
    ledger = ctx.ledger.bucket if ctx.ledger is not None else "unknown"
    return f"raw={ctx.settings.bucket};ledger={ledger}"


async def _mapping(ctx: MigrationContext, bucket_name: str, default: bool, dry_run: bool
                   ) -> str:
    scoped = ctx if bucket_name == ctx.settings.bucket else ctx.for_bucket(bucket_name)
    bucket = await scoped.find_bucket()
    if bucket is None:
        if dry_run:
            return f"bucket {bucket_name!r} does not exist yet: its mapping would be created"
        raise MigrationError(f"bucket {bucket_name!r} does not exist (migration 0001 or 0003 "
                             "creates it)")
    org_id, bucket_id = str(bucket.raw.org_id), str(bucket.raw.id)
    database, _, rp = bucket_name.partition("/")
    rp = rp or "autogen"
    found = await ctx.admin(lambda c: admin_api.dbrps(c, org_id, bucket_id))
    for mapping in found:
        if mapping.get("database") == database and mapping.get("retention_policy") == rp:
            kind = "virtual " if mapping.get("virtual") else ""
            return f"bucket {bucket_name!r} is mapped ({kind}DBRP {database}/{rp})"
    if dry_run:
        return f"would map {database}/{rp} to bucket {bucket_name!r}"
    await ctx.admin(lambda c: admin_api.create_dbrp(c, org_id, bucket_id, database, rp,
                                                    default))
    return f"mapped {database}/{rp} to bucket {bucket_name!r} (InfluxQL reads it so)"


async def apply(ctx: MigrationContext, dry_run: bool) -> list[str]:
    if not ctx.server.buckets or ctx.api != "v2":
        return [f"{ctx.server} has no DBRP mappings to make: nothing to do"]
    lines = [await _mapping(ctx, ctx.settings.bucket, True, dry_run)]
    if ctx.ledger is not None:
        lines.append(await _mapping(ctx, ctx.ledger.bucket, False, dry_run))
    return lines
