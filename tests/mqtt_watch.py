"""What Home Assistant would see: a plain paho-mqtt subscriber that records every message.

Not the code under test (the logger publishes through aiomqtt in its own process); this is the
other end of the broker, as Home Assistant's MQTT integration is. With a fixed `client_id` and
`persistent=True` it keeps its session on a broker with persistence, so messages published
while it reconnects after a broker restart are queued for it instead of lost.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt

TOPICS = ("homeassistant/#", "jullix/#")


@dataclass(frozen=True)
class Message:
    topic: str
    payload: str
    retain: bool  # set only for a retained message the subscription brought back
    at: float  # time.time() when it arrived

    def json(self) -> Any:
        return json.loads(self.payload)


class Watcher:
    def __init__(self, port: int, client_id: str = "", persistent: bool = False,
                 username: str | None = None, password: str | None = None) -> None:
        self.messages: list[Message] = []
        self._lock = threading.Lock()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id,
                                  clean_session=not persistent)
        if username:
            self.client.username_pw_set(username, password)
        self.client.on_message = self._on_message
        self.client.on_connect = self._on_connect
        self.client.reconnect_delay_set(0.1, 0.2)
        self.client.connect("127.0.0.1", port, keepalive=10)
        self.client.loop_start()

    def _on_connect(self, client: mqtt.Client, *_: Any) -> None:
        client.subscribe([(topic, 1) for topic in TOPICS])

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.messages.append(Message(message.topic, message.payload.decode(errors="replace"),
                                         bool(message.retain), time.time()))

    def snapshot(self, since: float = 0.0) -> list[Message]:
        with self._lock:
            return [m for m in self.messages if m.at >= since]

    def latest(self, since: float = 0.0) -> dict[str, Message]:
        return {m.topic: m for m in self.snapshot(since)}

    def configs(self, since: float = 0.0) -> dict[str, dict[str, Any]]:
        """The latest discovery payload per device topic."""
        return {t: m.json() for t, m in self.latest(since).items()
                if t.startswith("homeassistant/device/") and m.payload}

    def publish(self, topic: str, payload: str, retain: bool = False) -> None:
        self.client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(10)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def unique_ids(configs: dict[str, dict[str, Any]]) -> list[str]:
    return sorted(c["unique_id"] for p in configs.values() for c in p["cmps"].values())


def state_topics(configs: dict[str, dict[str, Any]]) -> dict[str, str]:
    """unique_id -> state topic of every entity."""
    return {c["unique_id"]: c["state_topic"] for p in configs.values() for c in p["cmps"].values()}
