"""`jullix-logger migrate`: create/upgrade the database or bucket (retention, schema)."""

from __future__ import annotations

import argparse
import asyncio
import sys

from logger.cli.common import EXIT_FAILED, EXIT_OK, settings_from
from logger.cli.logs import setup_logging
from logger.config import Settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dry-run", action="store_true",
                        help="show what would be done; change nothing")


def run(args: argparse.Namespace) -> int:
    from logger.sink.migrator import format_report, run_migrations
    from logger.sink.targets import ledger_influx

    settings = settings_from(args)
    setup_logging(args.log_level or "WARNING")
    if not settings.influx.configured:
        print("no InfluxDB configured ([influx] url is empty): nothing to migrate",
              file=sys.stderr)
        return EXIT_FAILED
    problem = asyncio.run(_api_problem(settings))
    if problem:
        print(f"FAILED: {settings.influx.display_url}: {problem}")
        return EXIT_FAILED
    report = asyncio.run(run_migrations(settings.influx, dry_run=args.dry_run,
                                        ledger=ledger_influx(settings)))
    for line in format_report(report, settings.influx):
        print(line)
    return EXIT_OK if report.ok else EXIT_FAILED


async def _api_problem(settings: Settings) -> str | None:
    """The server's version against `[influx] api` (logger.sink.flavour): API v2 against a
    1.x before 1.8 is said as such, not as a missing buckets API."""
    from logger.sink.flavour import api_problem
    from logger.sink.influxql import InfluxQL, QueryError

    reader = InfluxQL(settings.influx)
    try:
        return api_problem(await reader.flavour(), settings.influx.api)
    except QueryError:
        return None  # unreachable: the migrations say so in their own words
    finally:
        await reader.close()
