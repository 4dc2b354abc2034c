"""`jullix-logger run`: the service, until SIGTERM/SIGINT (or `--seconds`)."""

from __future__ import annotations

import argparse
import asyncio
import sys

from logger.cli.common import EXIT_FAILED, EXIT_OK, settings_from
from logger.cli.logs import setup_logging


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seconds", type=float, default=None,
                        help="stop by itself after this many seconds (for trials)")


def run(args: argparse.Namespace) -> int:
    from logger.app.service import Service
    from logger.outbox.lock import OutboxBusy

    settings = settings_from(args)
    setup_logging(args.log_level or settings.log.level)
    try:
        service = Service(settings)
    except OutboxBusy as exc:  # one outbox, one writer (logger/outbox/lock.py)
        print(f"jullix-logger run: {exc}: not starting a second one (stop the other first, "
              "e.g. `sudo systemctl stop jullix-logger`)", file=sys.stderr)
        return EXIT_FAILED
    asyncio.run(service.run(duration=args.seconds))
    return EXIT_OK
