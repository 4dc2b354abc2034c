"""The settings models: every section and key, with its default and its bounds.

The key names are a contract other tools rely on; every model forbids unknown keys so that a typo
is an error naming the key and the file, never a silently ignored setting. Where the values come
from (file, environment, credentials) is `logger.config.loading`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from logger.config.credentials import CredentialsSource
from logger.config.cross_checks import check_ledger_place, settle_ledger_gap
from logger.config.fields import Bool
from logger.config.fluvius import FluviusSettings
from logger.config.mqtt import MqttSettings
from logger.config.paths import default_state_dir
from logger.config.prices import PricesSettings
from logger.config.tariff import Contracts
from logger.core.durations import normalise_query_span, normalise_retention
from logger.core.point import tag_problem
from logger.core.urls import has_user_info, plain_http_to_remote, redact_url

ENV_PREFIX = "JULLIX_LOGGER_"

# A retention as InfluxDB takes it ("INF", "400d", "52w"), checked and normalised on reading.
Retention = Annotated[str, AfterValidator(normalise_retention)]
# How far one query may reach: "auto" (InfluxDB 3 Core: 24 h), "none" or a duration.
QuerySpan = Annotated[str, AfterValidator(normalise_query_span)]


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class LocalSettings(Section):
    """The box's local HTTP API (Jullix-direct)."""

    enabled: Bool = True
    url: str = "http://jullix.local"
    interval: float = Field(5.0, ge=1.0, le=3600.0, description="seconds between polls")
    timeout: float = Field(4.0, gt=0.0, le=60.0, description="per-request timeout, seconds")

    @field_validator("url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")):
            value = "http://" + value
        path = urlsplit(value).path.rstrip("/")
        if path.startswith("/api"):
            raise ValueError(f"ends in {path}: give the box's address only (e.g. "
                             "http://jullix.local); the logger adds /api/ems/<endpoint> itself")
        return value


class P1Settings(Section):
    """The P1 telegram relay on the box's TCP port."""

    enabled: Bool = False
    host: str = "jullix.local"
    port: int = Field(12345, ge=1, le=65535)
    idle_timeout: float = Field(30.0, gt=0.0, description="seconds without bytes = dead link")
    every: int = Field(1, ge=1, le=3600, description="keep one telegram in this many seconds")


class CloudSettings(Section):
    """The Jullix platform API (mijn.jullix.be)."""

    enabled: Bool = False
    url: str = "https://mijn.jullix.be/api/v1"
    token: SecretStr | None = None
    installation_id: str | None = None
    interval: float = Field(60.0, ge=30.0)
    realtime: Bool = False  # also poll the realtime summary into power_flow (source=cloud)
    timeout: float = Field(30.0, gt=0.0, le=300.0, description="per-request timeout, seconds")


class BackfillSettings(Section):
    """Repairing gaps of the local series from the cloud history (logger/app/backfill/)."""

    enabled: Bool | None = None  # None: follows [cloud] enabled
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
    # Migrations (logger/sink/migrator.py): applied when `run` starts; how long the raw series
    # are kept (the ledger has its own, `[ledger] retention`). `retention` is the older name.
    auto_migrate: Bool = True
    raw_retention: Retention = Field("INF",
                                     validation_alias=AliasChoices("raw_retention", "retention"))
    max_query_span: QuerySpan = "auto"  # long reads in windows (logger/sink/windows.py)

    @field_validator("url")
    @classmethod
    def _with_scheme(cls, value: str) -> str:
        """`localhost:8086` means `http://localhost:8086`, as for `[local] url`."""
        value = value.strip().rstrip("/")
        if value and "://" not in value:
            value = "http://" + value
        if value and urlsplit(value).scheme not in ("http", "https"):
            raise ValueError("must be an http:// or https:// URL, e.g. http://localhost:8086")
        return value

    @property
    def configured(self) -> bool:
        return bool(self.url)

    @property
    def display_url(self) -> str:
        """The URL to log or print: a password in it is redacted."""
        return redact_url(self.url)

    def plain_http_warning(self) -> str | None:
        """Why these credentials would travel readable, or None: plain http to a host that is
        not loopback, with a token, a password or user info in the URL."""
        if not plain_http_to_remote(self.url):
            return None
        secret = self.token is not None or self.password is not None or has_user_info(self.url)
        if not secret:
            return None
        return (f"[influx] url {self.display_url} is plain http to a host that is not "
                "loopback: the token/password is sent readable to anyone on the way; use https")


class LedgerSettings(Section):
    """The energy ledger (logger/ledger/, docs/schema.md): energy per quarter-hour, hour, day
    and month from counter differences, the capacity tariff and KPIs, kept current by the
    service and kept for `retention` in its own retention policy (v1) or bucket (v2)."""

    enabled: Bool = True  # the service keeps it current (needs [influx] url)
    source: Literal["auto", "p1", "meter"] = "auto"  # auto: p1 where it has data, else meter
    interval: float = Field(900.0, ge=60.0, le=86400.0, description="seconds between updates")
    recheck_days: float = Field(7.0, ge=1.0, le=400.0, description="how far back late data is "
                                "looked for at each update")
    gap: float = Field(60.0, ge=2.0, le=86400.0, description="seconds between two readings "
                       "beyond which the time between them counts as a gap; left out: derived "
                       "from the slowest meter cadence (logger/config/cross_checks.py)")
    page_hours: float = Field(6.0, ge=0.25, le=744.0, description="raw data read per query")
    retention_policy: str = Field("ledger", min_length=1, description="v1: policy name; v2: "
                                  "bucket <database>/<retention_policy>")
    retention: Retention = "INF"


class OutboxSettings(Section):
    """The durable queue on disk, which is also the embedded store."""

    path: Path = Field(default_factory=lambda: default_state_dir() / "outbox.sqlite")
    max_mb: float = Field(200.0, gt=0.0)
    overflow: Literal["drop_oldest", "drop_newest"] = "drop_oldest"
    # A point InfluxDB has not confirmed after this long is on disk (README: durability).
    commit_interval: float = Field(5.0, gt=0.0, le=60.0)
    dead_letter_max: int = Field(10_000, ge=1, description="dead letters kept, newest first")
    dead_letter_days: float = Field(30.0, gt=0.0, description="dead letters older go")


class HealthSettings(Section):
    """The logger's own health in InfluxDB: `_jullix_health` (logger/app/health_points.py)."""

    enabled: Bool = True
    interval: float = Field(60.0, ge=1.0, le=3600.0, description="seconds between points")


class HttpSettings(Section):
    """The opt-in `/metrics` and `/healthz` endpoint (logger/app/http_endpoint.py)."""

    listen: str = ""  # "" = off; "127.0.0.1:9480"; a host left out means 127.0.0.1

    @field_validator("listen")
    @classmethod
    def _check_listen(cls, value: str) -> str:
        value = value.strip()
        if value:
            parse_listen(value)
        return value

    @property
    def address(self) -> tuple[str, int] | None:
        """(host, port) to bind, None when off."""
        return parse_listen(self.listen) if self.listen else None


def parse_listen(text: str) -> tuple[str, int]:
    """`host:port`, `[v6]:port`, `:port` or `port` -> (host, port); the host defaults to
    loopback, so the endpoint is reachable from other machines only when an address says so."""
    host, sep, port_text = text.rpartition(":")
    if not sep:
        host, port_text = "", text
    host = host.strip("[]") or "127.0.0.1"
    try:
        port = int(port_text)
    except ValueError:
        raise ValueError(f"{text!r} is not host:port (e.g. 127.0.0.1:9480)") from None
    if not 1 <= port <= 65535:
        raise ValueError(f"port {port} is out of range 1..65535")
    return host, port


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

    @field_validator("installation")
    @classmethod
    def _tag_safe(cls, value: str) -> str:
        problem = tag_problem(value)
        if problem is not None:
            raise ValueError(f"the installation name becomes a tag value and {problem}")
        return value
    local: LocalSettings = Field(default_factory=LocalSettings)
    p1: P1Settings = Field(default_factory=P1Settings)
    cloud: CloudSettings = Field(default_factory=CloudSettings)
    backfill: BackfillSettings = Field(default_factory=BackfillSettings)
    influx: InfluxSettings = Field(default_factory=InfluxSettings)
    ledger: LedgerSettings = Field(default_factory=LedgerSettings)
    fluvius: FluviusSettings = Field(default_factory=FluviusSettings)
    outbox: OutboxSettings = Field(default_factory=OutboxSettings)
    health: HealthSettings = Field(default_factory=HealthSettings)
    http: HttpSettings = Field(default_factory=HttpSettings)
    mqtt: MqttSettings = Field(default_factory=MqttSettings)  # logger/config/mqtt.py
    log: LogSettings = Field(default_factory=LogSettings)
    prices: PricesSettings = Field(default_factory=PricesSettings)
    tariff: Contracts = Field(default_factory=list)  # [[tariff]]: logger/config/tariff.py

    @model_validator(mode="after")
    def _across_sections(self) -> Settings:
        check_ledger_place(self)
        settle_ledger_gap(self)
        return self

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
