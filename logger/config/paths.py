"""Where things are on disk: the config file and the state directory (outbox, backfill state).

Under systemd the unit tells (`$CONFIGURATION_DIRECTORY`, `$STATE_DIRECTORY`); elsewhere the
usual places are tried in order. An operator's command run by hand on a machine where the
service runs (`sudo jullix-logger status`, `export`, `check`) must find the service's outbox, not
one in root's home: the unit's `StateDirectory=jullix-logger` is `/var/lib/jullix-logger`, with
`DynamicUser=yes` a link into `/var/lib/private/jullix-logger` (readable by root only).
"""

from __future__ import annotations

import os
from pathlib import Path

SERVICE_STATE_DIR = Path("/var/lib/jullix-logger")  # the unit's StateDirectory=
SERVICE_PRIVATE_STATE_DIR = Path("/var/lib/private/jullix-logger")  # its target (DynamicUser=)

DEFAULT_CONFIG_PATHS = (
    Path("/etc/jullix-logger/config.toml"),
    Path("config.toml"),
)


def default_state_dir() -> Path:
    """Where the outbox lives: `$STATE_DIRECTORY` inside the unit; outside it the service's
    state directory when the service has one on this machine; else the XDG state home."""
    state = os.environ.get("STATE_DIRECTORY")
    if state:
        return Path(state.split(":")[0])
    # lexists: the link is visible to everyone, its target only to root; a user without access
    # then gets a clear "permission denied" for the service's outbox instead of an empty one.
    if os.path.lexists(SERVICE_STATE_DIR):
        return SERVICE_STATE_DIR
    try:
        if SERVICE_PRIVATE_STATE_DIR.is_dir():
            return SERVICE_PRIVATE_STATE_DIR
    except OSError:  # /var/lib/private is root's; not the service's state dir for this user
        pass
    xdg = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(xdg) / "jullix-logger"


def config_candidates() -> list[Path]:
    """Where a config file is looked for when none is given, in order."""
    candidates = list(DEFAULT_CONFIG_PATHS)
    config_dir = os.environ.get("CONFIGURATION_DIRECTORY")
    if config_dir:
        candidates.insert(0, Path(config_dir.split(":")[0]) / "config.toml")
    return candidates


def resolve_config_path(explicit: Path | None) -> Path | None:
    """The config file to read: the one given, else the first default that exists."""
    if explicit is not None:
        return explicit
    return next((path for path in config_candidates() if path.is_file()), None)
