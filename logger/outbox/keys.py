"""Every key of the outbox's `meta` table and every counter name, named once.

The service writes these facts with its commits; `status`, `check` and the tests read them. A
key spelled twice is a key that drifts, so writers and readers both take it from here.
"""

from __future__ import annotations

# -- meta: small facts that survive restarts -----------------------------------------------------

LAST_WRITE_OK = "last_write_ok"  # epoch seconds of the last batch InfluxDB confirmed
LAST_WRITE_POINTS = "last_write_points"  # how many points that flush wrote

LAST_SAMPLE_PREFIX = "last_sample."  # + source name: ISO time of the newest sample


def last_sample(source: str) -> str:
    """`last_sample.local.meter`, `last_sample.p1`: what `status` lists per source."""
    return LAST_SAMPLE_PREFIX + source


LOCAL_METER_TIMES = "local.meter_times"  # JSON {meter id: ISO time}: each meter clock's last
# reading, one key for a bounded number of meters (logger.sources.local.collector.MAX_METERS), so
# a box inventing meter ids cannot grow the meta table.
LOCAL_METER_TIME_PREFIX = "local.meter_time."  # + meter id: the same, as written before; read only


def local_endpoint_status(endpoint: str) -> str:
    return f"local.{endpoint}.status"


LAST_SAMPLE_LOCAL_METER_TIME = last_sample("local.meter_time")

P1_STATE = "p1.state"  # starting, connected, down, stopped
P1_STATE_SINCE = "p1.state_since"
P1_DETAIL = "p1.detail"
P1_RATE = "p1.telegrams_per_minute"
P1_ADDRESS = "p1.address"
P1_LAST_TIME = last_sample("p1")

# -- counters: persistent totals ---------------------------------------------------------------

OVERFLOW_DROPPED = "overflow_dropped"  # points the bound made the outbox drop
DEAD_LETTERED = "dead_lettered"  # points InfluxDB refused for good
P1_TELEGRAMS = "p1_telegrams"  # valid telegrams
P1_READER_RESTARTS = "p1_reader_restarts"
# Problem kinds (`logger.core.problems.Problems`) are counted under their own names, e.g.
# `local_meter_failed` or `p1_crc_mismatch`; the P1 kinds are listed in `logger.sources.p1`.
