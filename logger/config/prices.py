"""`[prices]`: where day-ahead prices come from (the ENTSO-E Transparency Platform, document A44).

The security token is a secret like the others: the systemd credential `entsoe_token`, the
environment variable `JULLIX_LOGGER_PRICES__TOKEN` or the file, never logged. The service fetches
tomorrow's prices once they are published (around 13:00 Brussels time); `jullix-logger prices
fetch` and `prices import` fill in history by hand.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

ENTSOE_URL = "https://web-api.tp.entsoe.eu/api"
BELGIUM = "10YBE----------2"
_EIC = re.compile(r"^[0-9]{2}[A-Z][A-Z0-9-]{12}[A-Z0-9-]$")  # an EIC area code, 16 characters
_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


class PricesSettings(BaseModel):
    """Day-ahead prices (logger/sources/prices/, docs/cost.md)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    enabled: bool = False  # the service fetches tomorrow's prices (needs a token)
    url: str = ENTSOE_URL
    token: SecretStr | None = None
    zone: str = BELGIUM
    publish_time: str = "13:00"  # Brussels time after which tomorrow's prices are asked for
    interval: float = Field(900.0, ge=60.0, le=86400.0, description="seconds between checks")
    timeout: float = Field(30.0, gt=0.0, le=300.0, description="per-request timeout, seconds")

    @field_validator("url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.strip().rstrip("/")

    @field_validator("zone")
    @classmethod
    def _eic(cls, value: str) -> str:
        if not _EIC.match(value):
            raise ValueError(f"{value!r} is not a 16-character EIC bidding-zone code (Belgium: "
                             f"{BELGIUM})")
        return value

    @field_validator("publish_time")
    @classmethod
    def _clock(cls, value: str) -> str:
        if not _CLOCK.match(value):
            raise ValueError(f"{value!r} is not a time of day HH:MM")
        return value

    @property
    def publish_minutes(self) -> int:
        hours, minutes = self.publish_time.split(":")
        return int(hours) * 60 + int(minutes)
