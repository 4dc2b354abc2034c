"""`jullix-logger backfill` and `jullix-logger cloud-probe`: the cloud, by hand."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import date, datetime
from pathlib import Path

from logger.cli.common import (
    EXIT_CONFIG,
    EXIT_FAILED,
    EXIT_OK,
    delivery_line,
    settings_from,
    since_until,
    waiting_in_outbox,
)
from logger.cli.interrupt import Interruption
from logger.cli.logs import setup_logging
from logger.cli.progress import DayProgress
from logger.config import Settings
from logger.core.words import plural
from logger.outbox.lock import holder


def add_backfill_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--since", metavar="DATE",
                        help="start (YYYY-MM-DD, Belgian day, or ISO time); the time before "
                        "the first local point counts as a gap (default: lookback_days ago)")
    parser.add_argument("--until", metavar="DATE",
                        help="end, inclusive day (default: now); the time after the last "
                        "local point counts as a gap")
    parser.add_argument("--dry-run", action="store_true",
                        help="list the gaps and the API calls it would make; write nothing "
                        "(with --undo: count what would be removed)")
    parser.add_argument("--undo", action="store_true",
                        help="remove the source=cloud power_flow points between --since and "
                        "--until (both required) and forget those gaps, so a later backfill "
                        "fetches them again; local points stay")


def run_backfill(args: argparse.Namespace) -> int:
    """0 done (gaps may remain, see the summary), 1 failed, 2 bad arguments or config."""
    from logger.app.backfill.command import backfill_by_hand
    from logger.sources.cloud.client import CloudConfigError

    settings = settings_from(args)
    setup_logging(args.log_level or "INFO")
    try:
        since, until = since_until(args)
    except ValueError as exc:
        print(f"jullix-logger backfill: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    if not settings.influx.configured:
        print("backfill needs InfluxDB to find gaps: [influx] url is empty")
        return EXIT_FAILED
    if args.undo:
        if since is None or until is None:
            print("jullix-logger backfill: --undo needs --since and --until", file=sys.stderr)
            return EXIT_CONFIG
        running = holder(settings.outbox.path)
        if running is not None and not args.dry_run:  # it forgets gaps the service tracks
            print(f"jullix-logger backfill --undo: the service (pid {running or '?'}) is "
                  f"running on the outbox {settings.outbox.path}, and its own backfill job "
                  "could fill the range again meanwhile; stop it first (`sudo systemctl stop "
                  "jullix-logger`). --dry-run works meanwhile", file=sys.stderr)
            return EXIT_FAILED
        return _undo(settings, since, until, args.dry_run)
    progress = DayProgress(sys.stderr, "backfill")
    args.interruption.refresh = lambda note: _interrupted(note, settings, progress,
                                                          args.dry_run)
    try:
        result = asyncio.run(backfill_by_hand(settings, since, until, args.dry_run, progress))
    except CloudConfigError as exc:
        print(f"jullix-logger: config error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    finally:
        progress.stop()
    if result.error:
        print(f"backfill {result.error}")
    if result.report is not None:
        for line in result.report.summary_lines():
            print(line)
    if not args.dry_run:
        print(delivery_line(result.delivered, result.left, result.handed_to))
    return EXIT_OK if result.ok else EXIT_FAILED


def _interrupted(note: Interruption, settings: Settings, progress: DayProgress,
                 dry_run: bool) -> None:
    """Ctrl-C: the days fetched (each committed to the outbox as it came), what waits there."""
    if dry_run:
        note.done, note.remains = "dry run: nothing was written", ""
        return
    if progress.total:
        note.done = (f"fetched {progress.done} of {plural(progress.total, 'day')} from the cloud "
                     f"({plural(progress.points, 'point')}, committed to the outbox as fetched)")
    waiting = waiting_in_outbox(settings)
    left = progress.total - progress.done
    note.remains = (f"{plural(waiting, 'point')} wait in the outbox {settings.outbox.path}"
                    + (" (the running service delivers them)" if waiting else "")
                    + (f"; {plural(left, 'day')} not fetched: run `backfill` again" if left
                       else ""))


def _undo(settings: Settings, since: datetime, until: datetime, dry_run: bool) -> int:
    from logger.app.backfill.undo import undo_backfill
    from logger.sink.influxql import QueryError

    what = (f"power_flow source=cloud points of installation {settings.installation!r} from "
            f"{since.isoformat()} to {until.isoformat()}")
    try:
        result = asyncio.run(undo_backfill(settings, since, until, dry_run))
    except QueryError as exc:
        print(f"backfill --undo failed: {exc}")
        return EXIT_FAILED
    if result.dry_run:
        if result.refused:
            print(f"dry run: {result.found} {what}; this server would remove none of them:")
            print(f"  {result.refused}")
            return EXIT_OK
        print(f"dry run: would remove {result.found} {what}; nothing removed")
        return EXIT_OK
    if result.refused:
        print(f"refused: nothing removed; would have removed {result.found} {what}")
        print(f"  {result.refused}")
        return EXIT_FAILED
    print(f"removed {result.found - result.left} {what}")
    if result.left:
        print(f"InfluxDB still holds {result.left} of them")
        return EXIT_FAILED
    print(f"forgot {result.forgotten} backfill records: a later backfill fetches these gaps "
          "again (the scheduled one does within lookback_days unless [backfill] enabled = false)")
    return EXIT_OK


def add_probe_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--date", required=True, metavar="YYYY-MM-DD", help="the day to fetch")
    parser.add_argument("--out", required=True, type=Path, metavar="DIR",
                        help="directory for the files (created)")


def run_probe(args: argparse.Namespace) -> int:
    from logger.sources.cloud.client import CloudClient, CloudConfigError, CloudError
    from logger.sources.cloud.probe import probe

    settings = settings_from(args)
    setup_logging(args.log_level or "WARNING")
    try:
        day = date.fromisoformat(args.date)
    except ValueError:
        print(f"jullix-logger cloud-probe: --date {args.date!r} is not YYYY-MM-DD",
              file=sys.stderr)
        return EXIT_CONFIG

    async def fetch() -> list[tuple[str, str]]:
        client = CloudClient(settings.cloud.url, settings.cloud.token,
                             timeout=settings.cloud.timeout)
        try:
            return await probe(client, settings.cloud.installation_id, day, args.out)
        finally:
            await client.close()

    try:
        results = asyncio.run(fetch())
    except CloudConfigError as exc:
        print(f"jullix-logger: config error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except CloudError as exc:
        print(f"cloud-probe failed: {exc}")
        return EXIT_FAILED
    for path, outcome in results:
        print(f"{path}: {outcome}")
    print(f"saved into {args.out} (token redacted); please check the files before sharing "
          "them: they hold your installation's data")
    return EXIT_OK
