"""What every command shares: exit codes, the `-c/--config` option, loading the settings."""

from __future__ import annotations

import argparse
from datetime import datetime
from pathlib import Path

from logger.config import Settings, load_settings, resolve_config_path
from logger.core.belgian_time import parse_bound

EXIT_OK, EXIT_FAILED, EXIT_CONFIG = 0, 1, 2


def add_config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-c",
        "--config",
        type=Path,
        metavar="PATH",
        help="TOML config file (default: $CONFIGURATION_DIRECTORY/config.toml, "
        "/etc/jullix-logger/config.toml or ./config.toml when present; "
        "environment variables JULLIX_LOGGER_<SECTION>__<KEY> override it)",
    )


def settings_from(args: argparse.Namespace) -> Settings:
    return load_settings(resolve_config_path(getattr(args, "config", None)))


def since_until(args: argparse.Namespace) -> tuple[datetime | None, datetime | None]:
    """`--since` and `--until` as instants; a bare `--until` day includes that whole day.
    ValueError names what could not be read."""
    since = parse_bound(args.since) if args.since else None
    until = parse_bound(args.until, end=True) if args.until else None
    return since, until
