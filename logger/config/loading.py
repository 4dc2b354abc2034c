"""Loading the settings: a TOML file, then environment variables, then systemd credentials.

Later sources win: `JULLIX_LOGGER_<SECTION>__<KEY>` overrides the file, and a credential file in
`$CREDENTIALS_DIRECTORY` (see `logger.config.credentials`) overrides both. Every problem becomes
one line naming the key and where it came from (`ConfigError`), and exit code 2 in the CLI.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from logger.config.settings import ENV_PREFIX, Settings


class ConfigError(Exception):
    """A configuration problem, already phrased as the one line the user should see."""


def _location(loc: tuple[Any, ...]) -> str:
    # repr() for a key with a newline or other control character: the message stays one line.
    parts = [str(p) if str(p).isprintable() else repr(str(p)) for p in loc]
    if len(parts) >= 2 and isinstance(loc[1], int):  # an array of tables: [[tariff]] #1 ...
        return " ".join([f"[[{parts[0]}]] #{loc[1] + 1}", ".".join(parts[2:])]).strip()
    if len(parts) >= 2:
        return f"[{parts[0]}] {'.'.join(parts[1:])}"
    return parts[0] if parts else "(top level)"


def _env_name(loc: tuple[Any, ...]) -> str:
    return ENV_PREFIX + "__".join(str(p).upper() for p in loc)


def _explain(error: dict[str, Any], toml_data: dict[str, Any], source: str) -> str:
    loc = tuple(error.get("loc", ()))
    where = source
    env = _env_name(loc)
    if env in {k.upper() for k in os.environ}:
        where = f"environment variable {env}"
    if error.get("type") == "extra_forbidden":
        return f"{where}: unknown key {_location(loc)}"
    message = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
    if not loc:  # a rule across sections: it names its keys; the input is the whole file
        return f"{where}: {message}"
    value = error.get("input")
    shown = "" if _is_secret(loc) or isinstance(value, list | dict) else f" (got {value!r})"
    return f"{where}: {_location(loc)}: {message}{shown}"


def _is_secret(loc: tuple[Any, ...]) -> bool:
    return bool(loc) and str(loc[-1]) in {"token", "password"}


def read_toml(path: Path) -> dict[str, Any]:
    """The TOML file as a dict, or a ConfigError naming the file and the problem."""
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: config file not found") from exc
    except PermissionError as exc:
        raise ConfigError(f"{path}: config file not readable (permission denied)") from exc
    except IsADirectoryError as exc:
        raise ConfigError(f"{path}: is a directory, not a config file") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not valid UTF-8 text") from exc
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file: {exc.strerror}") from exc


def load_settings(path: Path | None = None) -> Settings:
    """Load settings from `path` (optional), the environment and credentials.

    Raises ConfigError with one line naming the key and where it came from. The first
    problem is reported, because one clear line is more useful than a wall of errors.
    """
    toml_data = read_toml(path) if path is not None else {}
    source = str(path) if path is not None else "configuration"
    try:
        return Settings(**toml_data)
    except ValidationError as exc:
        errors = exc.errors()
        message = _explain(errors[0], toml_data, source)
        if len(errors) > 1:
            message += f" (and {len(errors) - 1} more problem(s))"
        raise ConfigError(message) from None
    except (ValueError, TypeError) as exc:
        # pydantic-settings raises SettingsError (a ValueError) for an env value that is not
        # valid JSON for a complex field; keep it to one line.
        raise ConfigError(f"{source}: {exc}".splitlines()[0]) from None


def redacted_dump(settings: Settings) -> dict[str, Any]:
    """Settings as plain data with every secret replaced, for `check` and logs."""
    return settings.model_dump(mode="json")
