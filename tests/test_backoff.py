"""The one retry policy (logger.core.backoff): capped exponential backoff with jitter, and
Retry-After in both of its forms."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from email.utils import format_datetime

from logger.core.backoff import Backoff, parse_retry_after


def test_the_delay_doubles_from_initial_up_to_maximum_with_jitter():
    for failures, ceiling in ((1, 1), (2, 2), (3, 4), (6, 32), (7, 60), (50, 60)):
        delays = []
        for seed in range(200):
            backoff = Backoff(1.0, 60.0, random.Random(seed))
            for _ in range(failures):
                delay = backoff.next_delay()
            delays.append(delay)
        assert ceiling / 2 <= min(delays) and max(delays) <= ceiling, failures
        assert len(set(delays)) > 150  # jitter: no two loggers retry in lockstep


def test_a_server_wait_is_honoured_beyond_the_maximum_but_not_forever():
    backoff = Backoff(1.0, 8.0, random.Random(1))
    assert backoff.next_delay(at_least=30.0) >= 30.0
    assert backoff.next_delay(at_least=10 * 86400) == 3600.0


def test_the_gate_closes_for_the_delay_and_opens_after_a_success():
    backoff = Backoff(1.0, 8.0, random.Random(2))
    delay = backoff.failed(now=100.0)
    assert not backoff.ready(now=100.0 + delay - 0.01)
    assert backoff.ready(now=100.0 + delay)
    for _ in range(10):
        backoff.failed(now=200.0)
    assert backoff.ceiling() == 8.0
    backoff.succeeded()
    assert backoff.ready(now=0.0) and backoff.failures == 0 and backoff.ceiling() == 1.0


def test_retry_after_in_seconds_and_as_an_http_date():
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(" 2.5 ") == 2.5
    assert parse_retry_after("-3") == 0.0
    now = datetime(2026, 3, 7, 10, 0, tzinfo=UTC).timestamp()
    date = format_datetime(datetime(2026, 3, 7, 10, 1, 30, tzinfo=UTC), usegmt=True)
    assert parse_retry_after(date, now=now) == 90.0
    assert parse_retry_after("Sat, 07 Mar 2026 09:00:00 GMT", now=now) == 0.0  # in the past
    for nonsense in (None, "", "soon", "nan"):
        assert parse_retry_after(nonsense) is None
