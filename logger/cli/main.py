"""`jullix-logger`: the parser, one subcommand per module of `logger.cli`, and the exit codes.

Exit codes: 0 success, 1 a check or command failed, 2 a configuration or usage error.

Every command runs with umask 077, as the systemd unit does (`UMask=0077`): the outbox (and its
WAL), the backfill state, `cloud-probe` files and exports say when a household used what, so
whatever the logger creates is readable by its own user only (files 0600, directories 0700),
also when someone runs it by hand.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

from logger.cli import backfill, check, demo, export, migrate, run, simulate, status
from logger.cli.common import EXIT_CONFIG, EXIT_OK, add_config_option
from logger.config import ConfigError
from logger.core.version import __version__

Command = Callable[[argparse.Namespace], int]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jullix-logger",
        description="Record a Jullix energy box's data into InfluxDB, without loss or duplicates.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, func: Command, text: str, config: bool = True,
            arguments: Callable[[argparse.ArgumentParser], None] | None = None) -> None:
        p = sub.add_parser(name, help=text, description=text)
        if config:
            add_config_option(p)
        p.add_argument("--log-level", choices=["DEBUG", "INFO", "WARNING", "ERROR"],
                       help="override [log] level")
        if arguments is not None:
            arguments(p)
        p.set_defaults(func=func)

    add("run", run.run, "run the logger service (until SIGTERM/SIGINT)",
        arguments=run.add_arguments)
    add("check", check.run,
        "test every configured source and InfluxDB; one line each; exit 0 when all pass")
    add("status", status.run,
        "show outbox depth, last successful write, last sample per source, error counters",
        arguments=status.add_arguments)
    add("migrate", migrate.run,
        "create/upgrade the InfluxDB database or bucket (retention, schema); "
        "`run` does this by itself unless [influx] auto_migrate = false",
        arguments=migrate.add_arguments)
    add("export", export.run,
        "write what the embedded store (outbox) holds as InfluxDB line protocol",
        arguments=export.add_arguments)
    add("backfill", backfill.run_backfill,
        "find gaps of the local series in InfluxDB and repair them from the Jullix cloud "
        "history, through the outbox; prints a summary",
        arguments=backfill.add_backfill_arguments)
    add("cloud-probe", backfill.run_probe,
        "save the raw cloud answers (history, statistics) for one day, token redacted, "
        "so the undocumented format can be checked", arguments=backfill.add_probe_arguments)
    add("simulate", simulate.run, "serve a simulated Jullix box on loopback (local API)",
        config=False, arguments=simulate.add_arguments)
    add("demo", demo.run, "start the simulator and the logger, then show what was logged",
        arguments=demo.add_arguments)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    os.umask(0o077)
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except ConfigError as exc:
        print(f"jullix-logger: config error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
