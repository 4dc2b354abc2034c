"""`jullix-logger run`: the service, until SIGTERM/SIGINT (or `--seconds`)."""

from __future__ import annotations

import argparse
import asyncio

from logger.cli.common import EXIT_OK, settings_from
from logger.cli.logs import setup_logging


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seconds", type=float, default=None,
                        help="stop by itself after this many seconds (for trials)")


def run(args: argparse.Namespace) -> int:
    from logger.app.service import Service

    settings = settings_from(args)
    setup_logging(args.log_level or settings.log.level)
    asyncio.run(Service(settings).run(duration=args.seconds))
    return EXIT_OK
