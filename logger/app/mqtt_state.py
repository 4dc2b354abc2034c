"""The MQTT output's state as the outbox keeps it: the keys, and one reading of them.

The running service records it (logger/app/mqtt_job.py); `status` reads it from the outbox file,
/metrics and `_jullix_health` from the same counters (logger/app/snapshot.py), so all three tell
one story. Importing this never imports the MQTT client. (The names belong with the others in
logger/outbox/keys.py; they wait here until that file is free to change.)
"""

from __future__ import annotations

from dataclasses import dataclass

STATE = "mqtt.state"  # connected, disconnected, stopped
STATE_SINCE = "mqtt.state_since"  # ISO time of the last change of `state`
BROKER = "mqtt.broker"  # the broker URL, password redacted
LAST_ERROR = "mqtt.last_error"  # why the last connection failed or ended
WAITING = "mqtt.waiting"  # values in the queue, one per entity at most

SENT = "mqtt_sent"  # counter: messages the broker acknowledged
DROPPED = "mqtt_dropped"  # counter: source values never sent (replaced while waiting, ...)
RECONNECTS = "mqtt_reconnects"  # counter: connections made again after a loss
OFFERED = "mqtt_offered"  # counter: source values that went into the queue
COUNTERS = (SENT, DROPPED, RECONNECTS, OFFERED)


@dataclass(frozen=True, slots=True)
class MqttView:
    """The output's recorded state; None when the outbox holds no MQTT facts at all."""

    state: str
    since: str
    broker: str
    last_error: str
    waiting: int
    sent: int
    dropped: int
    reconnects: int
    offered: int

    @property
    def connected(self) -> bool:
        return self.state == "connected"


def read(meta: dict[str, str], counters: dict[str, int]) -> MqttView | None:
    if STATE not in meta:
        return None
    waiting = meta.get(WAITING, "0")
    return MqttView(
        state=meta[STATE], since=meta.get(STATE_SINCE, ""), broker=meta.get(BROKER, ""),
        last_error=meta.get(LAST_ERROR, ""), waiting=int(waiting) if waiting.isdigit() else 0,
        sent=counters.get(SENT, 0), dropped=counters.get(DROPPED, 0),
        reconnects=counters.get(RECONNECTS, 0), offered=counters.get(OFFERED, 0),
    )
