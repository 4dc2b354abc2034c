"""`jullix-logger simulate`: the built-in simulated Jullix box (testbed) on loopback."""

from __future__ import annotations

import argparse
import asyncio
import contextlib

from logger.cli.common import EXIT_OK
from logger.cli.logs import setup_logging


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from logger.testbed.simulator import add_simulate_arguments

    add_simulate_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from logger.testbed.simulator import config_from_args, serve_forever

    setup_logging(args.log_level or "INFO")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve_forever(config_from_args(args)))
    return EXIT_OK
