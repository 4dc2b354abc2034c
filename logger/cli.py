"""The `jullix-logger` command and its subcommands.

Exit codes: 0 success, 1 a check or command failed, 2 a configuration or usage error.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from logger import __version__
from logger.config import ConfigError, Settings, load_settings
from logger.logs import setup_logging

log = logging.getLogger("logger")

EXIT_OK, EXIT_FAILED, EXIT_CONFIG = 0, 1, 2
DEFAULT_CONFIG_PATHS = (
    Path("/etc/jullix-logger/config.toml"),
    Path("config.toml"),
)


def _add_config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-c",
        "--config",
        type=Path,
        metavar="PATH",
        help="TOML config file (default: $CONFIGURATION_DIRECTORY/config.toml, "
        "/etc/jullix-logger/config.toml or ./config.toml when present; "
        "environment variables JULLIX_LOGGER_<SECTION>__<KEY> override it)",
    )


def resolve_config_path(explicit: Path | None) -> Path | None:
    """The config file to read: the one given, else the first default that exists."""
    if explicit is not None:
        return explicit
    import os

    candidates = list(DEFAULT_CONFIG_PATHS)
    config_dir = os.environ.get("CONFIGURATION_DIRECTORY")
    if config_dir:
        candidates.insert(0, Path(config_dir.split(":")[0]) / "config.toml")
    return next((path for path in candidates if path.is_file()), None)


def settings_from(args: argparse.Namespace) -> Settings:
    return load_settings(resolve_config_path(getattr(args, "config", None)))


# -- subcommands ------------------------------------------------------------------------


def cmd_run(args: argparse.Namespace) -> int:
    from logger.service import Service

    settings = settings_from(args)
    setup_logging(args.log_level or settings.log.level)
    service = Service(settings)
    asyncio.run(service.run(duration=args.seconds))
    return EXIT_OK


def cmd_migrate(args: argparse.Namespace) -> int:
    from logger.migrate import format_report, run_migrations

    settings = settings_from(args)
    setup_logging(args.log_level or "WARNING")
    if not settings.influx.configured:
        print("no InfluxDB configured ([influx] url is empty): nothing to migrate",
              file=sys.stderr)
        return EXIT_FAILED
    report = asyncio.run(run_migrations(settings.influx, dry_run=args.dry_run))
    for line in format_report(report, settings.influx):
        print(line)
    return EXIT_OK if report.ok else EXIT_FAILED


def cmd_check(args: argparse.Namespace) -> int:
    from logger.checks import run_checks

    settings = settings_from(args)
    setup_logging("ERROR")
    return EXIT_OK if asyncio.run(run_checks(settings, sys.stdout)) else EXIT_FAILED


def cmd_status(args: argparse.Namespace) -> int:
    from logger.status import print_status

    settings = settings_from(args)
    return print_status(settings, sys.stdout)


def cmd_export(args: argparse.Namespace) -> int:
    from logger.outbox import Outbox

    settings = settings_from(args)
    path = settings.outbox.path
    try:
        outbox = Outbox(path, read_only=True)
    except FileNotFoundError:
        print(f"no outbox at {path}: nothing has been logged with this config yet",
              file=sys.stderr)
        return EXIT_FAILED
    out = open(args.output, "w", encoding="utf-8") if args.output else sys.stdout  # noqa: SIM115
    count = 0
    try:
        for line in outbox.iter_lines(dead_letters=args.dead_letters):
            out.write(line + "\n")
            count += 1
    finally:
        if out is not sys.stdout:
            out.close()
        outbox.close()
    print(f"exported {count} points as line protocol (precision s)", file=sys.stderr)
    return EXIT_OK


def cmd_backfill(args: argparse.Namespace) -> int:
    from logger.backfill import backfill_command, parse_bound
    from logger.cloud_client import CloudConfigError

    settings = settings_from(args)
    setup_logging(args.log_level or "INFO")
    try:
        since = parse_bound(args.since) if args.since else None
        until = parse_bound(args.until, end=True) if args.until else None
    except ValueError as exc:
        print(f"jullix-logger backfill: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    try:
        return asyncio.run(backfill_command(settings, since, until, args.dry_run, sys.stdout))
    except CloudConfigError as exc:
        print(f"jullix-logger: config error: {exc}", file=sys.stderr)
        return EXIT_CONFIG


def cmd_cloud_probe(args: argparse.Namespace) -> int:
    from datetime import date

    from logger.backfill import probe_command
    from logger.cloud_client import CloudConfigError

    settings = settings_from(args)
    setup_logging(args.log_level or "WARNING")
    try:
        day = date.fromisoformat(args.date)
    except ValueError:
        print(f"jullix-logger cloud-probe: --date {args.date!r} is not YYYY-MM-DD",
              file=sys.stderr)
        return EXIT_CONFIG
    try:
        return asyncio.run(probe_command(settings, day, args.out, sys.stdout))
    except CloudConfigError as exc:
        print(f"jullix-logger: config error: {exc}", file=sys.stderr)
        return EXIT_CONFIG


def cmd_simulate(args: argparse.Namespace) -> int:
    from logger.simulator import config_from_args, serve_forever

    setup_logging(args.log_level or "INFO")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve_forever(config_from_args(args)))
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    from logger.demo import run_demo

    setup_logging(args.log_level or "WARNING")
    return asyncio.run(run_demo(args))


# -- parser -----------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jullix-logger",
        description="Record a Jullix energy box's data into InfluxDB, without loss or duplicates.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, func: Callable[[argparse.Namespace], int], text: str,
            config: bool = True) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=text, description=text)
        if config:
            _add_config_option(p)
        p.add_argument("--log-level", choices=["DEBUG", "INFO", "WARNING", "ERROR"],
                       help="override [log] level")
        p.set_defaults(func=func)
        return p

    run = add("run", cmd_run, "run the logger service (until SIGTERM/SIGINT)")
    run.add_argument("--seconds", type=float, default=None,
                     help="stop by itself after this many seconds (for trials)")
    add("check", cmd_check,
        "test every configured source and InfluxDB; one line each; exit 0 when all pass")
    add("status", cmd_status,
        "show outbox depth, last successful write, last sample per source, error counters")
    migrate = add("migrate", cmd_migrate,
                  "create/upgrade the InfluxDB database or bucket (retention, schema); "
                  "`run` does this by itself unless [influx] auto_migrate = false")
    migrate.add_argument("--dry-run", action="store_true",
                         help="show what would be done; change nothing")
    export = add("export", cmd_export,
                 "write what the embedded store (outbox) holds as InfluxDB line protocol")
    export.add_argument("-o", "--output", type=Path, help="file to write (default: stdout)")
    export.add_argument("--dead-letters", action="store_true",
                        help="export the points InfluxDB refused instead")

    backfill = add("backfill", cmd_backfill,
                   "find gaps of the local series in InfluxDB and repair them from the "
                   "Jullix cloud history; prints a summary")
    backfill.add_argument("--since", metavar="DATE",
                          help="start (YYYY-MM-DD, Belgian day, or ISO time); the time before "
                          "the first local point counts as a gap (default: lookback_days ago)")
    backfill.add_argument("--until", metavar="DATE",
                          help="end, inclusive day (default: now); the time after the last "
                          "local point counts as a gap")
    backfill.add_argument("--dry-run", action="store_true",
                          help="list the gaps and the API calls it would make; write nothing")
    probe = add("cloud-probe", cmd_cloud_probe,
                "save the raw cloud answers (history, statistics) for one day, token redacted, "
                "so the undocumented format can be checked")
    probe.add_argument("--date", required=True, metavar="YYYY-MM-DD", help="the day to fetch")
    probe.add_argument("--out", required=True, type=Path, metavar="DIR",
                       help="directory for the files (created)")

    simulate = add("simulate", cmd_simulate,
                   "serve a simulated Jullix box on loopback (local API)", config=False)
    from logger.simulator import add_simulate_arguments

    add_simulate_arguments(simulate)

    demo = add("demo", cmd_demo,
               "start the simulator and the logger, then show what was logged")
    demo.add_argument("--seconds", type=float, default=30.0,
                      help="how long to log (default 30)")
    demo.add_argument("--speed", type=float, default=1.0,
                      help="simulated seconds per real second (default 1)")
    demo.add_argument("--seed", type=int, default=1, help="simulator seed (default 1)")
    demo.add_argument("--influx-url", default=None,
                      help="InfluxDB 1.x URL to write into (default: config, else a private "
                      "influxd if installed, else the embedded store)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
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
