"""The MQTT output's state as the outbox keeps it: the keys, and one reading of them.

The running service records it (logger/app/mqtt_job.py); `status` reads it from the outbox file,
/metrics and `_jullix_health` from the same counters (logger/app/snapshot.py), so all three tell
one story. Importing this never imports the MQTT client.
"""

from __future__ import annotations

from dataclasses import dataclass

from logger.outbox import keys

# The keys live with every other in logger/outbox/keys.py (`MQTT_*`); their short names here.
STATE, STATE_SINCE, BROKER = keys.MQTT_STATE, keys.MQTT_STATE_SINCE, keys.MQTT_BROKER
LAST_ERROR, WAITING = keys.MQTT_LAST_ERROR, keys.MQTT_WAITING
SENT, DROPPED, RECONNECTS, OFFERED = (keys.MQTT_SENT, keys.MQTT_DROPPED, keys.MQTT_RECONNECTS,
                                      keys.MQTT_OFFERED)
UNCONFIRMED = keys.MQTT_UNCONFIRMED
COUNTERS = (SENT, DROPPED, RECONNECTS, OFFERED, UNCONFIRMED)


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
