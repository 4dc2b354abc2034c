"""The connection to the broker: announce, publish, listen for Home Assistant, reconnect.

A side output: `offer` and `set_gauges` are plain calls that only touch memory (the queue),
never the network, so a poll or the P1 reader hands values over and moves on whatever the
broker does. One task (`run`) owns the connection (aiomqtt on paho-mqtt 2.x):

- on connect: `online` (retained) on the availability topic, whose last will is `offline`; then
  every device's discovery config and every entity's latest state (the announce), so a broker
  that lost its retained messages (restarted without persistence) is whole again;
- Home Assistant's birth message (`online` on `<discovery_prefix>/status`) repeats the announce;
- then whatever waits in the queue, oldest first, discovery before states; the logger's own
  values (gauges) every `interval`, sampled when sent (a gauge is not data: none is queued);
- a lost connection is retried with the project's backoff (logger.core.backoff), 1 s doubling
  to `RECONNECT_MAX`; the loss and the return are logged once each;
- `stop` sends what waits (bounded), then `offline` (retained), then disconnects.
QoS 1 everywhere: a message is counted sent when the broker acknowledged it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiomqtt

from logger.config.mqtt import MqttSettings
from logger.core.backoff import Backoff
from logger.core.logs import get_logger
from logger.outputs.mqtt.client import client_for
from logger.outputs.mqtt.discovery import Device, Naming, device_config, state_text
from logger.outputs.mqtt.entities import KINDS, EntitySpec, spec
from logger.outputs.mqtt.mapping import Value
from logger.outputs.mqtt.queue import StateQueue

log = get_logger(__name__)

RECONNECT_MAX = 15.0  # seconds: a broker on the LAN that is back is found within this
KEEPALIVE = 30  # seconds: a silently dead broker is noticed after 1.5 x this
STOP_SECONDS = 3.0  # what a stop gives the broker to take what waits and `offline`
QOS = 1

Gauges = Callable[[], dict[str, float]]  # the logger device's values, sampled when sent


@dataclass
class Status:
    """What `status`, /metrics and the health point show of the output."""

    connected: bool = False
    sent: int = 0  # messages the broker acknowledged (discovery, states, availability)
    reconnects: int = 0  # connections made after the first one
    connections: int = 0
    last_error: str = ""
    connected_since: float | None = None  # time.time()


class Publisher:
    """Home Assistant over one MQTT connection (see the module doc)."""

    def __init__(self, settings: MqttSettings, naming: Naming, version: str,
                 gauges: Gauges | None = None) -> None:
        self.settings = settings
        self.naming = naming
        self.version = version
        self.gauges = gauges
        self.queue = StateQueue(settings.interval)
        self.status = Status()
        self.devices: dict[str, tuple[Device, set[str]]] = {}  # object id -> device, keys
        self.discovery: dict[str, str] = {}  # discovery topic -> payload (all devices)
        self.discovery_waiting: dict[str, str] = {}
        self._announce = False
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._listen_error: BaseException | None = None
        self._next_gauges = 0.0
        self._topics: dict[tuple[str, str], str] = {}  # (device key, entity key) -> state topic
        self._gauge_topics: set[str] = set()
        self._gauges_sent: dict[str, str] = {}  # topic -> the logger value last sent
        self.add_entities(naming.logger, ())  # the `via_device` of every other device

    # -- what the app hands over (memory only, never the network) -----------------------

    def offer(self, value: Value) -> None:
        """A source value: queued if the publish rule lets it through (logger/outputs/mqtt/
        queue.py); a value no entity takes, or that cannot be shown, is ignored."""
        where = (value.device.key, value.key)
        topic = self._topics.get(where)
        if topic is None:
            topic = self._topics[where] = self.naming.state_topic(value.device, value.key)
        if self.queue.too_soon(topic, value.at):
            return
        entity = spec(value.device.kind, value.key)
        text = None if entity is None else state_text(entity, value.value)
        if entity is None or text is None:
            return
        if self.queue.offer(topic, text, value.at):
            self.add_entities(value.device, (entity,))
            self._wake.set()

    def add_entities(self, device: Device, specs: tuple[EntitySpec, ...] | list[EntitySpec]
                     ) -> None:
        """Make the entities known to Home Assistant: a device gains components as its
        fields appear (a phase the meter does not report never becomes an entity)."""
        object_id = self.naming.object_id(device)
        entry = self.devices.get(object_id)
        keys = {s.key for s in specs}
        if entry is None:
            entry = self.devices[object_id] = (device, set())
        if not keys - entry[1]:
            return
        entry[1].update(keys)
        payload = device_config(self.naming, device,
                                [s for s in KINDS[device.kind] if s.key in entry[1]], self.version)
        topic = self.naming.discovery_topic(device)
        self.discovery[topic] = self.discovery_waiting[topic] = json.dumps(payload)
        self._wake.set()

    # -- the connection ------------------------------------------------------------------

    async def run(self) -> None:
        """Connect, publish, reconnect; until `stop`."""
        backoff = Backoff(1.0, RECONNECT_MAX)
        while not self._stopping.is_set():
            try:
                await self._session(backoff)
            except (aiomqtt.MqttError, OSError, ssl.SSLError) as exc:
                self._lost(exc)
            if self._stopping.is_set():
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), backoff.next_delay())

    def _lost(self, exc: BaseException) -> None:
        """Logged once per outage: the loss (or, before the first connection, the failure),
        then quiet retries until `connected ... again`."""
        text = str(exc) or type(exc).__name__
        status = self.status
        if status.connected or (status.connections == 0 and not status.last_error):
            log.warning("MQTT: broker %s %s (%s); values for Home Assistant wait, one per "
                        "entity, until it is back", self.settings.display_url,
                        "lost" if status.connected else "unreachable", text)
        else:
            log.debug("MQTT: broker %s still unreachable (%s)", self.settings.display_url, text)
        status.connected = False
        status.connected_since = None
        status.last_error = text

    def _client(self) -> aiomqtt.Client:
        return client_for(
            self.settings, self.settings.client_id or f"jullix-logger-{self.naming.inst}",
            will=aiomqtt.Will(self.naming.availability, "offline", QOS, retain=True),
            keepalive=KEEPALIVE, logger=get_logger(__name__ + ".client"), timeout=10.0)

    async def _session(self, backoff: Backoff) -> None:
        async with self._client() as client:
            backoff.succeeded()
            status = self.status
            status.connections += 1
            status.reconnects = status.connections - 1
            status.connected, status.connected_since = True, time.time()
            log.info("MQTT: connected to %s%s", self.settings.display_url,
                     " again" if status.reconnects else "")
            await self._publish(client, self.naming.availability, "online")
            await client.subscribe(self.naming.birth, qos=QOS)
            self._announce, self._listen_error = True, None
            listener = asyncio.create_task(self._listen(client), name="mqtt-listen")
            try:
                await self._send_loop(client)
            finally:
                listener.cancel()
                with contextlib.suppress(asyncio.CancelledError, aiomqtt.MqttError):
                    await listener
            await self._goodbye(client)

    async def _listen(self, client: aiomqtt.Client) -> None:
        """Home Assistant's birth message asks for the announce (a retained one is the old
        news the subscription brings back: the connect announced everything already)."""
        try:
            async for message in client.messages:
                if message.payload == b"online" and not message.retain:
                    log.info("MQTT: Home Assistant came online; announcing every entity")
                    self._announce = True
                    self._wake.set()
        except aiomqtt.MqttError as exc:
            self._listen_error = exc
            self._wake.set()

    async def _send_loop(self, client: aiomqtt.Client) -> None:
        """Until stopping with nothing left (or the stop's budget spent): announce when asked,
        then discovery, then states, then the gauges when due."""
        while True:
            self._wake.clear()  # first: whatever arrives during the awaits below wakes us
            if self._listen_error is not None:
                raise self._listen_error
            if self._announce:
                self._announce = False
                await self._announce_all(client)
                continue
            if self.discovery_waiting:
                topic, payload = next(iter(self.discovery_waiting.items()))
                await self._publish(client, topic, payload)
                if self.discovery_waiting.get(topic) == payload:
                    del self.discovery_waiting[topic]
                continue
            item = self.queue.take()
            if item is not None:
                try:
                    await self._publish(client, *item)
                except BaseException:
                    self.queue.failed(*item)
                    raise
                self.queue.sent(*item)
                continue
            if self._stopping.is_set():
                return
            if time.monotonic() >= self._next_gauges:
                await self._send_gauges(client)
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(),
                                       max(0.05, self._next_gauges - time.monotonic()))

    async def _announce_all(self, client: aiomqtt.Client) -> None:
        gauges = self._sample_gauges()  # first: a new logger entity joins the discovery
        self.discovery_waiting.clear()
        for topic, payload in list(self.discovery.items()):
            await self._publish(client, topic, payload)
        for topic, payload in list(self.queue.current.items()):
            await self._publish(client, topic, payload)
            self.queue.republished(topic, payload)
        for topic, payload in gauges:
            await self._publish(client, topic, payload)

    async def _send_gauges(self, client: aiomqtt.Client) -> None:
        """The logger's values that changed (the announce sends them all)."""
        for topic, payload in self._sample_gauges():
            if self._gauges_sent.get(topic) != payload:
                await self._publish(client, topic, payload)

    def _sample_gauges(self) -> list[tuple[str, str]]:
        """The logger device's values now, as (topic, payload); their entities registered."""
        self._next_gauges = time.monotonic() + self.settings.interval
        out = []
        for key, value in (self.gauges() if self.gauges else {}).items():
            entity = spec("logger", key)
            text = None if entity is None else state_text(entity, value)
            if entity is not None and text is not None:
                self.add_entities(self.naming.logger, (entity,))
                topic = self.naming.state_topic(self.naming.logger, key)
                self._gauge_topics.add(topic)
                out.append((topic, text))
        return out

    async def _publish(self, client: aiomqtt.Client, topic: str, payload: str) -> None:
        await client.publish(topic, payload, qos=QOS, retain=True)
        self.status.sent += 1
        if topic in self._gauge_topics:
            self._gauges_sent[topic] = payload

    async def _goodbye(self, client: aiomqtt.Client) -> None:
        """A clean stop: `offline` (retained), so Home Assistant shows every entity as
        unavailable at once instead of waiting for a last will that a clean disconnect
        never triggers."""
        if self._stopping.is_set():
            with contextlib.suppress(aiomqtt.MqttError):
                await client.publish(self.naming.availability, "offline", qos=QOS, retain=True,
                                     timeout=STOP_SECONDS)
                self.status.sent += 1
            self.status.connected = False

    async def stop(self, task: asyncio.Task[Any] | None) -> None:
        """Send what waits and say `offline`, within `STOP_SECONDS`; what is left then is
        dropped (counted)."""
        self._stopping.set()
        self._wake.set()
        if task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(task), STOP_SECONDS)
            except TimeoutError:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        self.status.connected = False
        left = self.queue.abandon()
        if left:
            log.warning("MQTT: stopping with %d value(s) the broker did not take; dropped", left)
