"""`jullix-logger prices fetch --since D --until D` and `prices import FILE`: day-ahead prices of
any range into InfluxDB (`price_day_ahead`), from the ENTSO-E Transparency Platform or a CSV file.

The service fetches tomorrow's prices by itself (`[prices] enabled`); these commands fill in
history. Writing a period again overwrites it. Exit 0 written, 1 failed, 2 bad arguments or
config, 130 interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from logger.cli.common import (
    EXIT_CONFIG,
    EXIT_FAILED,
    EXIT_OK,
    delivery_line,
    settings_from,
    since_until,
)
from logger.cli.logs import setup_logging
from logger.core.belgian_time import BRUSSELS

EXIT_INTERRUPTED = 130


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    fetch = sub.add_parser("fetch", help="fetch day-ahead prices from the ENTSO-E Transparency "
                           "Platform ([prices] url, zone, token)")
    fetch.add_argument("--since", metavar="DATE", required=True,
                       help="first Belgian day (YYYY-MM-DD)")
    fetch.add_argument("--until", metavar="DATE", required=True,
                       help="last Belgian day, inclusive (tomorrow once published, ~13:00)")
    fetch.add_argument("--dry-run", action="store_true", help="fetch and summarise; write "
                       "nothing")
    imp = sub.add_parser("import", help="import prices from a CSV file: start (ISO 8601 with "
                         "offset or Z),price_eur_mwh[,resolution] (docs/cost.md)")
    imp.add_argument("file", type=Path, metavar="FILE")
    imp.add_argument("--dry-run", action="store_true", help="check and summarise; write nothing")


def run(args: argparse.Namespace) -> int:
    from logger.app.one_shot import NotReady
    from logger.app.prices_load import fetch_prices, import_prices
    from logger.sink.influxql import QueryError
    from logger.sources.prices.client import PricesConfigError, PricesError

    settings = settings_from(args)
    setup_logging(args.log_level or "WARNING")
    try:
        if args.action == "fetch":
            since, until = since_until(args)
            assert since is not None and until is not None
            if until <= since:
                raise ValueError("--until is before --since")
            start, end = int(since.timestamp()), int(until.timestamp())
            print(f"fetching day-ahead prices {args.since} .. {args.until} for "
                  f"{settings.prices.zone} ...", flush=True)
            result = asyncio.run(fetch_prices(settings, start, end, args.dry_run))
        else:
            result = asyncio.run(import_prices(settings, args.file, args.dry_run))
    except OSError as exc:
        print(f"jullix-logger prices: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return EXIT_CONFIG
    except (ValueError, PricesConfigError) as exc:  # a bad date or file line, no token
        print(f"jullix-logger prices: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except (PricesError, NotReady, QueryError) as exc:  # a refused token, no answer, no InfluxDB
        print(f"prices failed: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("interrupted: what was fetched before stays in the outbox; run it again to "
              "complete", file=sys.stderr)
        return EXIT_INTERRUPTED
    for line in summary(result, args.dry_run, settings.ledger.recheck_days):
        print(line)
    return EXIT_OK


def _when(t: int) -> str:
    return datetime.fromtimestamp(t, BRUSSELS).strftime("%Y-%m-%d %H:%M %Z")


def summary(result: Any, dry_run: bool, recheck_days: float) -> list[str]:
    """What a fetch or import brought and where it went."""
    lines = []
    names = {900: "quarter-hourly (PT15M)", 3600: "hourly (PT60M)", 1800: "half-hourly"}
    counts = result.by_resolution()
    if not result.prices:
        lines.append("no prices" + (f": {result.empty[0]}" if result.empty else ""))
    for seconds, count in sorted(counts.items()):
        own = [p.start for p in result.prices if p.resolution_s == seconds]
        lines.append(f"{count} {names.get(seconds, f'{seconds} s')} prices, {_when(min(own))} "
                     f"to {_when(max(own) + seconds)}")
    parsed = result.parsed
    if parsed is not None and result.prices:
        lines.append(f"{result.requests} request(s), {parsed.series} series; {parsed.filled} "
                     f"repeated prices filled in (curve A03), {parsed.duplicates} duplicate "
                     f"and {parsed.conflicts} conflicting point(s) ignored")
    if dry_run:
        lines.append("dry run: nothing written")
    elif result.prices:
        d = result.delivered
        lines.append(delivery_line(d.written, d.left, d.handed_to))
        first = min(p.start for p in result.prices)
        day = datetime.fromtimestamp(first, BRUSSELS).date()
        lines.append(f"costs: the service recomputes the last {recheck_days:g} days by itself; "
                     f"for older ones run `jullix-logger cost --since {day} --until ...`")
    return lines
