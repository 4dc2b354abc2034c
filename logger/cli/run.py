"""`jullix-logger run`: the service, until SIGTERM/SIGINT (or `--seconds`).

It refuses to start without a config file unless `--no-config` says that the defaults (and
environment variables) are meant: a unit whose file went missing must not log for months into
an embedded store nobody looks at. Its first log line says which configuration it read.
Ctrl-C (SIGINT) stops it as cleanly as SIGTERM does, and exits 130 saying so.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys

from logger.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    config_line,
    config_notes,
    require_config_file,
    settings_from,
)
from logger.cli.interrupt import EXIT_INTERRUPTED
from logger.cli.logs import setup_logging
from logger.core.logs import get_logger
from logger.core.words import plural

log = get_logger("run")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seconds", type=float, default=None,
                        help="stop by itself after this many seconds (for trials)")


def run(args: argparse.Namespace) -> int:
    from logger.app.service import Service
    from logger.outbox.lock import OutboxBusy

    require_config_file(args)
    settings = settings_from(args)
    setup_logging(args.log_level or settings.log.level)
    log.info("%s", config_line(args))
    for note in config_notes():
        log.warning("%s", note.removeprefix("WARNING: "))
    try:
        service = Service(settings)
    except OutboxBusy as exc:  # one outbox, one writer (logger/outbox/lock.py)
        print(f"jullix-logger run: {exc}: not starting a second one (stop the other first, "
              "e.g. `sudo systemctl stop jullix-logger`)", file=sys.stderr)
        return EXIT_FAILED
    asyncio.run(service.run(duration=args.seconds))
    if service.stop_signal == signal.SIGINT:
        left = service.left_in_outbox
        args.interruption.remains = (
            f"{plural(left, 'point')} wait in the outbox {settings.outbox.path} for the next "
            "start" if left else "nothing waits in the outbox")
        print(args.interruption.line("run"), file=sys.stderr)
        return EXIT_INTERRUPTED
    return EXIT_OK
