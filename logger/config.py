"""Settings: a TOML file, then environment variables, then systemd credentials.

Later sources win: `JULLIX_LOGGER_<SECTION>__<KEY>` overrides the file, and a credential file in
`$CREDENTIALS_DIRECTORY` (named `influx_token`, `influx_password` or `cloud_token`) overrides both,
because credentials are the one place systemd keeps secrets out of the environment and the unit.

The key names are a contract other tools rely on; every model forbids unknown keys so that a typo
is an error naming the key and the file, never a silently ignored setting.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

ENV_PREFIX = "JULLIX_LOGGER_"
CREDENTIAL_FIELDS = {
    "influx_token": ("influx", "token"),
    "influx_password": ("influx", "password"),
    "cloud_token": ("cloud", "token"),
}


def default_state_dir() -> Path:
    """Where the outbox lives: systemd's StateDirectory, else the XDG state home."""
    state = os.environ.get("STATE_DIRECTORY")
    if state:
        return Path(state.split(":")[0])
    xdg = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(xdg) / "jullix-logger"


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class LocalSettings(Section):
    """The box's local HTTP API (Jullix-direct)."""

    enabled: bool = True
    url: str = "http://jullix.local"
    interval: float = Field(5.0, ge=1.0, le=3600.0, description="seconds between polls")
    timeout: float = Field(4.0, gt=0.0, le=60.0, description="per-request timeout, seconds")

    @field_validator("url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")):
            value = "http://" + value
        return value


class P1Settings(Section):
    """The P1 telegram relay on the box's TCP port."""

    enabled: bool = False
    host: str = "jullix.local"
    port: int = Field(12345, ge=1, le=65535)
    idle_timeout: float = Field(30.0, gt=0.0, description="seconds without bytes = dead link")
    every: int = Field(1, ge=1, le=3600, description="keep one telegram in this many seconds")


class CloudSettings(Section):
    """The Jullix platform API (mijn.jullix.be)."""

    enabled: bool = False
    url: str = "https://mijn.jullix.be/api/v1"
    token: SecretStr | None = None
    installation_id: str | None = None
    interval: float = Field(60.0, ge=30.0)
    realtime: bool = False  # also poll the realtime summary into power_flow (source=cloud)
    timeout: float = Field(30.0, gt=0.0, le=300.0, description="per-request timeout, seconds")


class BackfillSettings(Section):
    """Repairing gaps of the local series from the cloud history (logger/backfill.py)."""

    enabled: bool | None = None  # None: follows [cloud] enabled
    lookback_days: float = Field(7.0, gt=0.0, le=366.0)
    interval: float = Field(3600.0, ge=60.0, description="seconds between scheduled runs")
    threshold: float | None = Field(None, gt=0.0, description="default: 3 x [local] interval")
    recheck_hours: float = Field(3.0, ge=0.0, le=72.0)


class InfluxSettings(Section):
    """Where points go. An empty url keeps everything in the embedded outbox store."""

    url: str = ""
    api: Literal["v1", "v2"] = "v1"
    token: SecretStr | None = None
    org: str = "-"
    bucket: str = "jullix"
    database: str = "jullix"
    username: str | None = None
    password: SecretStr | None = None
    retention_policy: str = ""
    timeout: float = Field(10.0, gt=0.0, le=300.0)
    batch_size: int = Field(5000, ge=1, le=100_000)
    # Migrations (logger/migrate.py): apply them when `run` starts, and how long data is kept.
    auto_migrate: bool = True
    retention: str = "INF"

    @field_validator("url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.strip().rstrip("/")

    @field_validator("retention")
    @classmethod
    def _check_retention(cls, value: str) -> str:
        from logger.migrate import normalise_retention

        return normalise_retention(value)

    @property
    def configured(self) -> bool:
        return bool(self.url)


class OutboxSettings(Section):
    """The durable queue on disk, which is also the embedded store."""

    path: Path = Field(default_factory=lambda: default_state_dir() / "outbox.sqlite")
    max_mb: float = Field(200.0, gt=0.0)
    overflow: Literal["drop_oldest", "drop_newest"] = "drop_oldest"
    commit_interval: float = Field(1.0, gt=0.0, le=60.0)


class LogSettings(Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


class Settings(BaseSettings):
    """All settings. Construct with `load_settings`, which knows where the file is."""

    model_config = SettingsConfigDict(
        extra="forbid",
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        case_sensitive=False,
    )

    installation: str = Field("home", min_length=1)
    local: LocalSettings = Field(default_factory=LocalSettings)
    p1: P1Settings = Field(default_factory=P1Settings)
    cloud: CloudSettings = Field(default_factory=CloudSettings)
    backfill: BackfillSettings = Field(default_factory=BackfillSettings)
    influx: InfluxSettings = Field(default_factory=InfluxSettings)
    outbox: OutboxSettings = Field(default_factory=OutboxSettings)
    log: LogSettings = Field(default_factory=LogSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Highest priority first: credentials, environment, then the TOML data passed as init.
        return (CredentialsSource(settings_cls), env_settings, init_settings)


class CredentialsSource(PydanticBaseSettingsSource):
    """Secrets from systemd's `$CREDENTIALS_DIRECTORY` (LoadCredential=), one file per secret."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        directory = os.environ.get("CREDENTIALS_DIRECTORY")
        if not directory:
            return {}
        found: dict[str, Any] = {}
        for name, (section, key) in CREDENTIAL_FIELDS.items():
            path = Path(directory) / name
            if path.is_file():
                found.setdefault(section, {})[key] = path.read_text(encoding="utf-8").strip()
        return found


class ConfigError(Exception):
    """A configuration problem, already phrased as the one line the user should see."""


def _location(loc: tuple[Any, ...]) -> str:
    # repr() for a key with a newline or other control character: the message stays one line.
    parts = [str(p) if str(p).isprintable() else repr(str(p)) for p in loc]
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
    value = error.get("input")
    shown = "" if _is_secret(loc) else f" (got {value!r})"
    return f"{where}: {_location(loc)}: {error.get('msg', 'invalid value')}{shown}"


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
