"""Numbered InfluxDB migrations, applied in order by `logger.sink.migrator`.

Installed as the package `logger.sink.migrations` (pyproject.toml maps this folder there), so no
top-level `migrations` module lands in site-packages.

Each module `mNNNN_name.py` defines `ID = "NNNN"`, `DESCRIPTION` and
`async def apply(ctx: MigrationContext, dry_run: bool) -> list[str]`, returning one human line per
thing it did (or, with `dry_run`, would do). A migration must be idempotent: look at what the
server has, change only what differs, and change nothing at all when `dry_run` is true. Raise
`logger.sink.migration_context.MigrationError` (or let `QueryError` through) with a message
that says what to do.

Never renumber or edit an applied migration to mean something else: add a new one.
"""
