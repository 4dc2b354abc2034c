"""The one retry policy: capped exponential backoff with jitter, and `Retry-After`.

Every component that retries (delivery into InfluxDB, the migration gate, the P1 reconnect loop,
the cloud client) uses `Backoff`, so "how long do we wait after the n-th failure" has one answer:
a random delay in [ceiling / 2, ceiling] with ceiling = initial * 2^(n-1), capped at `maximum`.
The jitter keeps a fleet of loggers (or the retries of one) from hammering a server in lockstep.

Two ways to use it: `next_delay()` for code that sleeps itself (a reconnect loop), or the gate
form `failed()` / `ready()` / `succeeded()` for code that runs on a schedule and must not block
(the flush job checks `ready()` every second).
"""

from __future__ import annotations

import random
import time
from datetime import UTC
from email.utils import parsedate_to_datetime

MAX_SERVER_WAIT = 3600.0  # a Retry-After longer than this is not honoured in full


class Backoff:
    """Capped exponential backoff with jitter, reset by the first success."""

    def __init__(
        self,
        initial: float = 1.0,
        maximum: float = 60.0,
        rng: random.Random | None = None,
    ) -> None:
        if initial <= 0 or maximum < initial:
            raise ValueError("need 0 < initial <= maximum")
        self.initial = initial
        self.maximum = maximum
        self.rng = rng or random.Random()
        self.failures = 0
        self.not_before = 0.0

    def ceiling(self, failures: int | None = None) -> float:
        """The largest delay after `failures` consecutive failures (default: so far)."""
        count = self.failures if failures is None else failures
        return min(self.maximum, self.initial * 2 ** min(max(count, 1) - 1, 60))

    def next_delay(self, at_least: float | None = None) -> float:
        """Count one failure and return how long to wait before the next attempt.

        `at_least` is a server's `Retry-After`: honoured (up to an hour) even beyond `maximum`.
        """
        self.failures += 1
        ceiling = self.ceiling()
        delay = self.rng.uniform(ceiling / 2, ceiling)
        if at_least is not None:
            delay = max(delay, min(at_least, MAX_SERVER_WAIT))
        return delay

    # -- the gate form ----------------------------------------------------------------

    def failed(self, at_least: float | None = None, now: float | None = None) -> float:
        """Count one failure and close the gate for the returned number of seconds."""
        delay = self.next_delay(at_least)
        self.not_before = (time.monotonic() if now is None else now) + delay
        return delay

    def ready(self, now: float | None = None) -> bool:
        return (time.monotonic() if now is None else now) >= self.not_before

    def succeeded(self) -> None:
        self.failures = 0
        self.not_before = 0.0


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` header: delta-seconds or an HTTP date (RFC 9110)."""
    if not value:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if seconds == seconds else None  # NaN is no answer
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    reference = time.time() if now is None else now
    return max(0.0, moment.timestamp() - reference)
