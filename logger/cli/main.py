"""`jullix-logger`: the parser, one subcommand per module of `logger.cli`, and the exit codes.

Only the chosen command's module is imported (and only its arguments are added): `run` then
never loads the simulator, the demo or the cloud code, which keeps the service's memory down.

Exit codes: 0 success, 1 a check or command failed, 2 a configuration or usage error, 130
interrupted (Ctrl-C; one line says what was done and what remains, `logger.cli.interrupt`), 141
the reader of the output went away (`status | head`: no traceback).

Every command says which configuration it reads: `check` and `status` on their first line,
`run` in its first log line, the others on stderr (so `report --json` and `export` keep stdout
for their data).

Every command runs with umask 077, as the systemd unit does (`UMask=0077`): the outbox (and its
WAL), the backfill state, `cloud-probe` files and exports say when a household used what, so
whatever the logger creates is readable by its own user only (files 0600, directories 0700),
also when someone runs it by hand.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from logger.cli.common import EXIT_CONFIG, add_config_option, config_line, config_notes
from logger.cli.interrupt import EXIT_INTERRUPTED, for_command
from logger.config import ConfigError
from logger.core.version import __version__

EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, as a shell reports a writer whose reader went away


@dataclass(frozen=True)
class Command:
    name: str
    module: str  # in logger.cli
    run: str  # the function taking the parsed arguments, returning the exit code
    help: str
    arguments: str | None = None  # the function adding the command's own arguments
    config: bool = True
    says_config: bool = False  # names its config itself (check, status, run)


COMMANDS = (
    Command("run", "run", "run", "run the logger service (until SIGTERM/SIGINT)",
            "add_arguments", says_config=True),
    Command("check", "check", "run",
            "test every configured source and InfluxDB; one line each; exit 0 when all pass",
            says_config=True),
    Command("status", "status", "run",
            "show whether the service runs, outbox depth, last successful write, last sample "
            "per source, cloud and backfill state, counters", "add_arguments",
            says_config=True),
    Command("migrate", "migrate", "run",
            "create/upgrade the InfluxDB database or bucket (retention, schema); "
            "`run` does this by itself unless [influx] auto_migrate = false", "add_arguments"),
    Command("export", "export", "run",
            "write what the embedded store (outbox) holds as InfluxDB line protocol",
            "add_arguments"),
    Command("backfill", "backfill", "run_backfill",
            "find gaps of the local series in InfluxDB and repair them from the Jullix cloud "
            "history, through the outbox; prints a summary", "add_backfill_arguments"),
    Command("cloud-probe", "backfill", "run_probe",
            "save the raw cloud answers (history, statistics) for one day, token redacted, "
            "so the undocumented format can be checked", "add_probe_arguments"),
    Command("ledger", "ledger", "run",
            "build the energy ledger (quarter-hours to months, capacity tariff, KPIs) for "
            "existing history; the service keeps it current", "add_arguments"),
    Command("import-fluvius", "import_fluvius", "run",
            "import Mijn Fluvius exports (quarter-hours, gas hours) into InfluxDB through the "
            "outbox; the ledger uses them where the logger has no readings and compares them "
            "where it has", "add_arguments"),
    Command("report", "report", "run",
            "print energy per hour, day or month, the capacity-tariff peak and KPIs from the "
            "ledger (`--cost`: what it cost and saved, in EUR)", "add_arguments"),
    Command("prices", "prices", "run",
            "day-ahead prices into InfluxDB: `prices fetch --since D --until D` (ENTSO-E) or "
            "`prices import FILE` (CSV)", "add_arguments"),
    Command("cost", "cost", "run",
            "cost existing history from the ledger, the day-ahead prices and [[tariff]] "
            "(the service keeps the recent days current)", "add_arguments"),
    Command("simulate", "simulate", "run", "serve a simulated Jullix box on loopback",
            "add_arguments", config=False),
    Command("demo", "demo", "run", "start the simulator and the logger, then show what was logged "
            "(into its own private store: never the InfluxDB of a config file)",
            "add_arguments", config=False),
)


def _chosen(argv: Sequence[str]) -> str | None:
    return next((arg for arg in argv if not arg.startswith("-")), None)


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser; with `argv`, only the command it names gets its module and arguments."""
    chosen = None if argv is None else _chosen(argv)
    parser = argparse.ArgumentParser(
        prog="jullix-logger",
        description="Record a Jullix energy box's data into InfluxDB, without loss or duplicates.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        p = sub.add_parser(command.name, help=command.help, description=command.help)
        if command.config:
            add_config_option(p)
        p.add_argument("--log-level", choices=["DEBUG", "INFO", "WARNING", "ERROR"],
                       help="override [log] level")
        if argv is not None and command.name != chosen:
            continue
        module = importlib.import_module(f"logger.cli.{command.module}")
        if command.arguments:
            getattr(module, command.arguments)(p)
        p.set_defaults(func=getattr(module, command.run))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    os.umask(0o077)
    arguments = list(sys.argv[1:] if argv is None else argv)
    name = _chosen(arguments) or "jullix-logger"
    interruption = for_command(name)
    try:
        args = build_parser(arguments).parse_args(arguments)
        args.interruption = interruption
        command = next(c for c in COMMANDS if c.name == args.command)
        if command.config and not command.says_config:
            for line in (config_line(args), *config_notes()):
                print(line, file=sys.stderr)
        return int(args.func(args))
    except ConfigError as exc:
        print(f"jullix-logger: config error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        print(interruption.line(name), file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`status | head`): no traceback; stdout is gone, so point it
        # at /dev/null for the interpreter's own flush at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_BROKEN_PIPE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
