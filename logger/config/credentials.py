"""Secrets from systemd credentials (`LoadCredential=`), which win over file and environment.

systemd copies each credential into `$CREDENTIALS_DIRECTORY`, readable only by the service, and
keeps it out of the environment (which other processes may read over D-Bus). One file per secret,
named after what it holds.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic_settings import PydanticBaseSettingsSource

CREDENTIAL_FIELDS = {
    "influx_token": ("influx", "token"),
    "influx_password": ("influx", "password"),
    "cloud_token": ("cloud", "token"),
    "mqtt_password": ("mqtt", "password"),
    "entsoe_token": ("prices", "token"),
}


class CredentialsSource(PydanticBaseSettingsSource):
    """Secrets from `$CREDENTIALS_DIRECTORY`, one file per secret (see CREDENTIAL_FIELDS)."""

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
