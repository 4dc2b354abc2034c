"""`jullix-logger check` for the broker: connect, subscribe to a test topic, publish to it, and
wait for the message to come back. That proves the address, the credentials, TLS and that this
client may both publish and subscribe under the topic prefix (a broker's ACL can forbid either).
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import uuid

import aiomqtt

from logger.config.mqtt import MqttSettings
from logger.outputs.mqtt.client import client_for


def _refused(code: object) -> bool:
    """A SUBACK code that says no (0x80 and up; MQTT 3.1.1 and 5 alike)."""
    value = getattr(code, "value", code)
    return isinstance(value, int) and value >= 0x80


async def probe(settings: MqttSettings, topic_base: str, timeout: float = 10.0
                ) -> tuple[bool, str]:
    """(ok, what was found) for `check`; never raises, never shows the password."""
    where = settings.display_url
    topic = f"{topic_base}/check/{uuid.uuid4().hex[:12]}"
    token = uuid.uuid4().hex.encode()
    try:
        async with asyncio.timeout(timeout):
            async with client_for(settings, f"jullix-logger-check-{uuid.uuid4().hex[:8]}",
                                  timeout=timeout) as client:
                granted = await client.subscribe(topic, qos=1)
                if any(_refused(code) for code in granted):
                    return False, (f"{where}: connected, but the broker refused a subscription "
                                   f"to {topic} (does its ACL let this user read there?)")
                await client.publish(topic, token, qos=1)
                async for message in client.messages:
                    if message.payload == token:
                        break
                with contextlib.suppress(aiomqtt.MqttError):
                    await client.unsubscribe(topic)
    except TimeoutError:
        return False, (f"{where}: connected, but a message published to {topic} did not come "
                       f"back within {timeout:g} s (does the broker's ACL allow this client to "
                       "publish and subscribe there?)")
    except aiomqtt.MqttCodeError as exc:
        return False, f"{where}: the broker refused ({exc})"
    except (aiomqtt.MqttError, OSError, ssl.SSLError) as exc:
        return False, f"{where}: cannot connect ({exc or type(exc).__name__})"
    return True, f"{where}: connected, published to {topic} and received it back"
