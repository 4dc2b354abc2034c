"""The one way the logger talks HTTP to InfluxDB: one client factory, one set of credentials.

API v1 (1.x) takes basic auth (`[influx] username`/`password`); API v2 (1.8+, 2.x, 3.x) takes
`Authorization: Token ...` (InfluxDB 1.8's v2 layer wants `username:password` as that token).
The writers, the InfluxQL reader and the migration checks all build their client here.
"""

from __future__ import annotations

import httpx

from logger.config import InfluxSettings
from logger.core.logs import get_logger

log = get_logger(__name__)

USER_AGENT = "jullix-logger"
_warned: set[str] = set()


def warn_plain_http(settings: InfluxSettings) -> None:
    """Once per process and URL: credentials are about to travel over plain http to a host
    that is not loopback (`InfluxSettings.plain_http_warning`)."""
    warning = settings.plain_http_warning()
    if warning is not None and settings.display_url not in _warned:
        _warned.add(settings.display_url)
        log.warning("%s", warning)


def auth_headers(settings: InfluxSettings) -> dict[str, str]:
    if settings.token is not None and not settings.username:
        return {"Authorization": f"Token {settings.token.get_secret_value()}"}
    return {}


def basic_auth(settings: InfluxSettings) -> httpx.BasicAuth | None:
    if settings.username:
        password = settings.password.get_secret_value() if settings.password else ""
        return httpx.BasicAuth(settings.username, password)
    return None


def v2_token(settings: InfluxSettings) -> str:
    """The token influxdb-client sends: the token, or `username:password` for InfluxDB 1.8."""
    if settings.username:
        password = settings.password.get_secret_value() if settings.password else ""
        return f"{settings.username}:{password}"
    return settings.token.get_secret_value() if settings.token else ""


def influx_client(settings: InfluxSettings, timeout: float | None = None) -> httpx.AsyncClient:
    """An httpx client for `[influx] url` with the configured credentials and timeout."""
    warn_plain_http(settings)
    return httpx.AsyncClient(
        base_url=settings.url,
        timeout=settings.timeout if timeout is None else timeout,
        headers={"User-Agent": USER_AGENT, **auth_headers(settings)},
        auth=basic_auth(settings),
    )
