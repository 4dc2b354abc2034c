"""The publisher's queue: the latest state per topic, bounded, with the publish rule. Pure.

The rule, per entity: a value is offered when its text differs from the one offered last and
at least `interval` seconds (on the values' own timestamps, the meter's or the receive time)
have passed since then; a value held back by the interval goes with the next point after it.
Judged on source time, so which values go out depends only on the data, never on how busy the
machine was: a test can tell from the points alone what must have been offered.

Bounded: one waiting value per topic, so a broker away for a day costs one value per entity of
memory, never a growing backlog. A waiting value replaced by a newer one is dropped, and
counted: `offered == sent first time + dropped + waiting`, exactly. So are values of a topic
beyond `max_topics` (a box inventing device ids) and what is still waiting when the service
stops without a broker to take it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

MAX_TOPICS = 2000  # entities; a real installation has about a hundred


@dataclass
class Counts:
    offered: int = 0  # state values that passed the rule and went into the queue
    delivered: int = 0  # of those, sent (each once: a republish is not a second delivery)
    dropped: int = 0  # of those, never confirmed sent: replaced while waiting, refused, or left
    # at stop; `unconfirmed` of them were on the wire when the link broke (the broker may
    # have kept them: a QoS 1 publish whose acknowledgement never came)
    unconfirmed: int = 0
    refused_topics: int = 0  # values refused because the queue holds `max_topics` already


@dataclass
class StateQueue:
    """What is waiting to be published, and the latest value of every topic."""

    interval: float
    max_topics: int = MAX_TOPICS
    counts: Counts = field(default_factory=Counts)
    waiting: dict[str, str] = field(default_factory=dict)  # topic -> payload, oldest first
    current: dict[str, str] = field(default_factory=dict)  # topic -> latest offered payload
    _last: dict[str, tuple[str, int]] = field(default_factory=dict)  # topic -> (payload, at)

    def too_soon(self, topic: str, at: int) -> bool:
        """Whether the interval rules a value of `topic` at `at` out whatever it says (the
        cheap test first: most values of a 1 Hz meter end here)."""
        last = self._last.get(topic)
        return last is not None and last[1] <= at < last[1] + self.interval

    def offer(self, topic: str, payload: str, at: int) -> bool:
        """Take a value if the rule lets it through; True when it was queued."""
        last = self._last.get(topic)
        if last is not None and (payload == last[0] or last[1] <= at < last[1] + self.interval):
            return False
        if topic not in self.current and len(self.current) >= self.max_topics:
            self.counts.refused_topics += 1
            self.counts.offered += 1
            self.counts.dropped += 1
            return False
        self._last[topic] = (payload, at)
        self.current[topic] = payload
        self.counts.offered += 1
        if topic in self.waiting:
            self.counts.dropped += 1  # the broker never got the older one
            del self.waiting[topic]  # the newer one waits at the end: oldest first stays true
        self.waiting[topic] = payload
        return True

    def take(self) -> tuple[str, str] | None:
        """The oldest waiting value, removed from the queue (`sent` or `failed` next)."""
        if not self.waiting:
            return None
        topic = next(iter(self.waiting))
        return topic, self.waiting.pop(topic)

    def sent(self, topic: str, payload: str) -> None:
        self.counts.delivered += 1

    def failed(self, topic: str, payload: str) -> None:
        """A value whose publish failed waits again, unless a newer one arrived meanwhile:
        then it is dropped, and counted as unconfirmed too (it may have reached the broker)."""
        if topic in self.waiting:
            self.counts.dropped += 1
            self.counts.unconfirmed += 1
        else:
            self.waiting = {topic: payload, **self.waiting}

    def republished(self, topic: str, payload: str) -> None:
        """The latest value of `topic` went out (an announce after a connect or Home
        Assistant's birth): if that very value was waiting, this was its delivery."""
        if self.waiting.get(topic) == payload:
            del self.waiting[topic]
            self.counts.delivered += 1

    def abandon(self) -> int:
        """The service stops and the broker cannot take what waits: all of it is dropped."""
        left = len(self.waiting)
        self.counts.dropped += left
        self.waiting.clear()
        return left
