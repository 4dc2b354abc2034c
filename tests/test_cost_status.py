"""What `status` and `/metrics` say of the price and cost jobs, from the outbox's meta and
counters the jobs keep (logger/app/cost_keys.py)."""

from __future__ import annotations

from logger.app import metrics
from logger.app.cost_keys import (
    COST_FAILED,
    COST_LAST_RUN,
    COST_MISSING,
    PRICES_FAILED,
    PRICES_LAST_ERROR,
    PRICES_LAST_FETCH,
    PRICES_NEWEST,
    status_lines,
)
from logger.app.snapshot import Snapshot

META = {PRICES_LAST_FETCH: "2026-12-01T12:14:00+00:00: 96 prices for 2026-12-02",
        PRICES_LAST_ERROR: "2026-12-01T12:30:00+00:00: HTTP 503 after 4 attempts",
        PRICES_NEWEST: "1764716400", COST_LAST_RUN: "2026-12-01T12:17:00+00:00: 672 ...",
        COST_MISSING: "4"}
COUNTERS = {PRICES_FAILED: 3, COST_FAILED: 1}


def test_status_shows_the_last_fetch_its_error_and_the_missing_quarters():
    text = "".join(status_lines(META, COUNTERS))
    assert "prices        last fetch 2026-12-01T12:14:00+00:00: 96 prices" in text
    assert "known until 2025-12-02T23:00:00+00:00" in text
    assert "HTTP 503 after 4 attempts (3 failed in all)" in text
    assert "4 recent quarter-hour(s) without a day-ahead price" in text
    assert status_lines({}, {}) == []  # the jobs never ran: nothing to say


def test_metrics_carry_the_failures_how_far_prices_reach_and_the_missing_quarters():
    snap = Snapshot(at=1764716400 - 3600, installation="home", problem=None, outbox_depth=0,
                    outbox_oldest_age_s=None, outbox_bytes=0, outbox_max_bytes=1,
                    dead_letters=0, counters=COUNTERS, meta=META, influx_configured=True,
                    sink_ready=True, p1_enabled=False, p1_last_telegram_age_s=None)
    body, _ = metrics.render(snap)
    samples = dict(line.rsplit(" ", 1) for line in body.decode().splitlines()
                   if line and not line.startswith("#"))
    assert float(samples["jullix_prices_fetch_failed_total"]) == 3
    assert float(samples["jullix_cost_update_failed_total"]) == 1
    assert float(samples["jullix_prices_ahead_seconds"]) == 3600
    assert float(samples["jullix_cost_missing_quarters"]) == 4
