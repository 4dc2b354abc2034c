"""Where things are on disk: the config file and the state directory (outbox, backfill state).

Under systemd the unit tells (`$CONFIGURATION_DIRECTORY`, `$STATE_DIRECTORY`); elsewhere the
usual places are tried in order.
"""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_CONFIG_PATHS = (
    Path("/etc/jullix-logger/config.toml"),
    Path("config.toml"),
)


def default_state_dir() -> Path:
    """Where the outbox lives: systemd's StateDirectory, else the XDG state home."""
    state = os.environ.get("STATE_DIRECTORY")
    if state:
        return Path(state.split(":")[0])
    xdg = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(xdg) / "jullix-logger"


def resolve_config_path(explicit: Path | None) -> Path | None:
    """The config file to read: the one given, else the first default that exists."""
    if explicit is not None:
        return explicit
    candidates = list(DEFAULT_CONFIG_PATHS)
    config_dir = os.environ.get("CONFIGURATION_DIRECTORY")
    if config_dir:
        candidates.insert(0, Path(config_dir.split(":")[0]) / "config.toml")
    return next((path for path in candidates if path.is_file()), None)
