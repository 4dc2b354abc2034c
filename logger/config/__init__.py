"""The settings layer: models (`settings`), where values come from (`loading`, `credentials`)
and where files live (`paths`). Imports only `logger.core`."""

from logger.config.environment import environment_problems, environment_settings
from logger.config.fluvius import FluviusSettings
from logger.config.loading import ConfigError, load_settings, redacted_dump
from logger.config.mqtt import MqttSettings
from logger.config.paths import config_candidates, default_state_dir, resolve_config_path
from logger.config.prices import PricesSettings
from logger.config.settings import (
    BackfillSettings,
    CloudSettings,
    HealthSettings,
    HttpSettings,
    InfluxSettings,
    LedgerSettings,
    LocalSettings,
    LogSettings,
    OutboxSettings,
    P1Settings,
    Settings,
)

__all__ = [
    "BackfillSettings",
    "CloudSettings",
    "ConfigError",
    "FluviusSettings",
    "HealthSettings",
    "HttpSettings",
    "InfluxSettings",
    "LedgerSettings",
    "LocalSettings",
    "LogSettings",
    "MqttSettings",
    "OutboxSettings",
    "P1Settings",
    "PricesSettings",
    "Settings",
    "config_candidates",
    "default_state_dir",
    "environment_problems",
    "environment_settings",
    "load_settings",
    "redacted_dump",
    "resolve_config_path",
]
