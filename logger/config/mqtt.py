"""`[mqtt]`: the Home Assistant side output (logger/outputs/mqtt, logger/app/mqtt_job.py).

Off until a broker `url` is set: one line (`url = "mqtt://192.168.1.20"`) is all a user with
Home Assistant's Mosquitto add-on needs. The password comes from the file, the environment or,
best, the systemd credential `mqtt_password`; it is a `SecretStr`, and every place that shows the
URL shows `display_url`, so neither a password key nor user info in the URL reaches a log line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from logger.core.urls import is_loopback, redact_url

SCHEMES = {"mqtt": 1883, "mqtts": 8883}  # scheme -> default port
TOPIC_FORBIDDEN = set("+#\0")  # MQTT wildcards and NUL have no place in a topic we publish to


class MqttSettings(BaseModel):
    """A broker to publish to, and how (topics, TLS, the publish interval)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    enabled: bool | None = None  # None: on when `url` is set
    url: str = ""  # mqtt://host[:1883] or mqtts://host[:8883]; user info moves to the keys
    username: str | None = None
    password: SecretStr | None = None
    ca_file: Path | None = None  # mqtts: the CA that signed the broker's certificate
    cert_file: Path | None = None  # mqtts: a client certificate (with key_file), if required
    key_file: Path | None = None
    tls_insecure: bool = False  # mqtts: do not check the certificate's host name
    discovery_prefix: str = "homeassistant"
    topic_prefix: str = "jullix"
    interval: float = Field(10.0, ge=1.0, le=3600.0, description="seconds between two values "
                            "of one entity; a value that did not change is not sent again")
    client_id: str = ""  # "" = jullix-logger-<installation>

    @model_validator(mode="before")
    @classmethod
    def _user_info_out_of_the_url(cls, data: Any) -> Any:
        """`mqtt://user:pw@host` works, but the password must not stay a plain string in the
        url (a repr or a dump would show it): it moves into `username` / `password` (the keys
        win when both are given)."""
        if not isinstance(data, dict) or not isinstance(data.get("url"), str):
            return data
        try:
            parts = urlsplit(data["url"].strip())
        except ValueError:
            return data
        if "@" not in parts.netloc:
            return data
        data = dict(data)
        user, _, host = parts.netloc.rpartition("@")
        name, colon, password = user.partition(":")
        data["url"] = urlunsplit(parts._replace(netloc=host))
        if name and not data.get("username"):
            data["username"] = unquote(name)
        if colon and data.get("password") is None:
            data["password"] = unquote(password)
        return data

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value:
            return value
        try:
            parts = urlsplit(value)
            port = parts.port
        except ValueError as exc:
            raise ValueError(f"not a broker URL ({exc})") from None
        if parts.scheme not in SCHEMES:
            raise ValueError("must start with mqtt:// or mqtts:// (TLS)")
        if not parts.hostname:
            raise ValueError("has no host (e.g. mqtt://192.168.1.20:1883)")
        if port == 0 or parts.path not in ("", "/") or parts.query or parts.fragment:
            raise ValueError("is host and port only (e.g. mqtt://192.168.1.20:1883)")
        return value

    @field_validator("discovery_prefix", "topic_prefix")
    @classmethod
    def _check_prefix(cls, value: str) -> str:
        value = value.strip().strip("/")
        if not value or TOPIC_FORBIDDEN & set(value):
            raise ValueError("must be a non-empty topic without '+', '#' or NUL")
        return value

    @model_validator(mode="after")
    def _url_when_enabled(self) -> MqttSettings:
        if self.enabled and not self.url:
            raise ValueError("enabled = true needs a broker url (e.g. mqtt://192.168.1.20)")
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("cert_file and key_file go together")
        return self

    # -- what the rest of the logger reads ---------------------------------------------------

    @property
    def active(self) -> bool:
        """Whether the service publishes: `enabled`, or by default whenever a url is set."""
        return bool(self.url) if self.enabled is None else self.enabled

    @property
    def display_url(self) -> str:
        return redact_url(self.url)

    @property
    def tls(self) -> bool:
        return urlsplit(self.url).scheme == "mqtts"

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or ""

    @property
    def port(self) -> int:
        parts = urlsplit(self.url)
        return parts.port or SCHEMES.get(parts.scheme, 1883)

    def plain_text_warning(self) -> str | None:
        """Why the password would travel readable (mqtt:// to a host that is not loopback)."""
        if self.tls or is_loopback(self.host) or self.credentials()[1] is None:
            return None
        return (f"[mqtt] url {self.display_url} is unencrypted to a host that is not loopback: "
                "the password is sent readable to anyone on the way; use mqtts://")

    def credentials(self) -> tuple[str | None, str | None]:
        """(username, password) to connect with."""
        return self.username, None if self.password is None else self.password.get_secret_value()
