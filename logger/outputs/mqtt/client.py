"""One way to make an aiomqtt client for the configured broker: credentials and TLS.

The publisher and `check`'s probe both build their client here, so `check` tests exactly the
connection the service will make.
"""

from __future__ import annotations

import ssl

import aiomqtt

from logger.config.mqtt import MqttSettings


def _tls(settings: MqttSettings) -> ssl.SSLContext | None:
    if not settings.tls:
        return None
    context = ssl.create_default_context(
        cafile=str(settings.ca_file) if settings.ca_file else None)
    if settings.cert_file and settings.key_file:
        context.load_cert_chain(str(settings.cert_file), str(settings.key_file))
    context.check_hostname = not settings.tls_insecure
    return context


def client_for(settings: MqttSettings, identifier: str, **extra: object) -> aiomqtt.Client:
    """An aiomqtt client for the configured broker; `extra` are aiomqtt's own options."""
    username, password = settings.credentials()
    return aiomqtt.Client(settings.host, settings.port, username=username, password=password,
                          identifier=identifier, tls_context=_tls(settings),
                          **extra)  # type: ignore[arg-type]
