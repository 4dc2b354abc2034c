"""What every command shares: exit codes, the config options, loading the settings, and how a
command is spelled so that a printed suggestion works when pasted."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from datetime import datetime
from pathlib import Path

from logger.config import (
    ConfigError,
    Settings,
    config_candidates,
    environment_problems,
    environment_settings,
    load_settings,
    resolve_config_path,
)
from logger.core.belgian_time import parse_bound
from logger.core.words import plural
from logger.outbox import Outbox

EXIT_OK, EXIT_FAILED, EXIT_CONFIG = 0, 1, 2


def add_config_option(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "-c",
        "--config",
        type=Path,
        metavar="PATH",
        help="TOML config file (default: $CONFIGURATION_DIRECTORY/config.toml, "
        "/etc/jullix-logger/config.toml or ./config.toml when present; "
        "environment variables JULLIX_LOGGER_<SECTION>__<KEY> override it)",
    )
    group.add_argument(
        "--no-config", action="store_true",
        help="read no config file: the defaults and JULLIX_LOGGER_* environment variables only "
        "(`run` refuses to start without a config file unless given this)")


def config_path(args: argparse.Namespace) -> Path | None:
    """The file the command reads: `-c`, else the first default that exists; None with
    `--no-config` or when there is none."""
    if getattr(args, "no_config", False):
        return None
    return resolve_config_path(getattr(args, "config", None))


def config_line(args: argparse.Namespace) -> str:
    """Which configuration the command uses, in one line (first line of `check` and `status`,
    the first log line of `run`, on stderr for the others)."""
    path = config_path(args)
    if path is not None:
        text = f"config {path}"
    elif getattr(args, "no_config", False):
        text = "config none (--no-config): defaults"
    else:
        looked = ", ".join(str(p) for p in config_candidates())
        text = f"config none found (looked for {looked}): defaults"
    overrides = environment_settings()
    if overrides:
        text += "; environment: " + ", ".join(overrides)
    if os.environ.get("CREDENTIALS_DIRECTORY"):
        text += "; credentials from $CREDENTIALS_DIRECTORY"
    return text


def config_notes() -> list[str]:
    """Warnings about the environment: variables that look meant for the logger but that it
    would silently ignore."""
    return [f"WARNING: {problem}" for problem in environment_problems()]


def require_config_file(args: argparse.Namespace) -> None:
    """`run` on defaults only when asked: a service that silently runs on defaults because its
    file is missing logs into the wrong place for months."""
    if config_path(args) is None and not getattr(args, "no_config", False):
        looked = ", ".join(str(p) for p in config_candidates())
        raise ConfigError(f"no config file (looked for {looked}): give -c PATH, or --no-config "
                          "to run on the defaults and JULLIX_LOGGER_* environment variables")


def settings_from(args: argparse.Namespace) -> Settings:
    return load_settings(config_path(args))


def command_prefix(args: argparse.Namespace | None = None) -> str:
    """`jullix-logger` as the user can type it here, with `-c FILE` when a file is in use:
    `jullix-logger` when that is on PATH and is this program, else this venv's script (relative
    to the working directory when inside it), else `python -m logger`."""
    program = _program()
    path = config_path(args) if args is not None else None
    return f"{program} -c {path}" if path is not None else program


def _program() -> str:
    script = Path(sys.executable).parent / "jullix-logger"
    found = shutil.which("jullix-logger")
    if found and script.exists() and Path(found).resolve() == script.resolve():
        return "jullix-logger"
    if script.exists():
        try:
            return str(script.relative_to(Path.cwd()))
        except ValueError:
            return str(script)
    return f"{sys.executable} -m logger"


def since_until(args: argparse.Namespace) -> tuple[datetime | None, datetime | None]:
    """`--since` and `--until` as instants; a bare `--until` day includes that whole day.
    ValueError names the option, what it got and what it takes; `--since` after `--until`
    is one too."""
    since = _bound("--since", args.since, end=False) if args.since else None
    until = _bound("--until", args.until, end=True) if args.until else None
    if since is not None and until is not None and since >= until:
        raise ValueError(f"--since {args.since} is not before --until {args.until}")
    return since, until


def _bound(option: str, text: str, end: bool) -> datetime:
    try:
        return parse_bound(text, end=end)
    except ValueError:
        raise ValueError(f"{option} {text!r} is not a date (YYYY-MM-DD, a Belgian day) or an "
                         "ISO time (2026-11-26T14:00)") from None


def delivery_line(delivered: int, left: int, handed_to: int | None = None) -> str:
    """What reached InfluxDB and what waits (the `backfill` and `ledger` summaries' last line);
    `handed_to`: the running service's pid, when the points were handed to it instead."""
    if handed_to is not None:
        return (f"handed {plural(delivered, 'point')} to the running service (pid "
                f"{handed_to or '?'}), which delivers them to InfluxDB")
    return (f"delivered to InfluxDB: {plural(delivered, 'point')}; waiting in the outbox: "
            f"{left}" + (" (the service delivers them)" if left else ""))


def waiting_in_outbox(settings: Settings) -> int:
    """The outbox's depth, read-only (0 when there is none)."""
    try:
        outbox = Outbox(settings.outbox.path, read_only=True)
    except FileNotFoundError:
        return 0
    try:
        return outbox.depth()
    finally:
        outbox.close()
