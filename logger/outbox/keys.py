"""Every key of the outbox's `meta` table and every counter name, named once.

The service writes these facts with its commits; `status`, `check` and the tests read them. A
key spelled twice is a key that drifts, so writers and readers both take it from here.
"""

from __future__ import annotations

# -- meta: small facts that survive restarts -----------------------------------------------------

LAST_WRITE_OK = "last_write_ok"  # epoch seconds of the last batch InfluxDB confirmed
LAST_WRITE_POINTS = "last_write_points"  # how many points that flush wrote

CONFIRMED_UPTO = "outbox.confirmed_upto"  # committed rows up to this id are confirmed, their
# deletion deferred (logger.outbox.confirmed); every reader of the queue skips them

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


def receive_last(source: str) -> str:
    """`receive.last.local`: ISO time of the source's last receive stamp, continued after a
    restart so no second is stamped twice (logger.core.receive_sequence)."""
    return f"receive.last.{source}"

P1_STATE = "p1.state"  # starting, connected, down, stopped
P1_STATE_SINCE = "p1.state_since"
P1_DETAIL = "p1.detail"
P1_RATE = "p1.telegrams_per_minute"
P1_ADDRESS = "p1.address"
P1_LAST_TIME = last_sample("p1")

SERVICE_PID = "service.pid"  # the running service's process id
SERVICE_STARTED = "service.started"  # epoch s of its start
SERVICE_HEARTBEAT = "service.heartbeat"  # epoch s, set every commit tick (stored every <= 30 s)
SERVICE_STOPPED = "service.stopped"  # epoch s of its last clean stop ("" while it runs)

CLOUD_STATE = "cloud.state"  # "ok", "stopped", "failing"
CLOUD_STATE_SINCE = "cloud.state_since"  # epoch s
CLOUD_DETAIL = "cloud.detail"  # what happened, one line, no secret

BACKFILL_LAST_RESULT = "backfill.last_result"  # what the last backfill run did, one line
BACKFILL_GAPS_OPEN = "backfill.gaps_open"  # gaps the last backfill run left unrepaired
BACKFILL_LAST_RUN = "backfill.last_run"  # ISO time of the last backfill run (service or command)

# Warnings that matter (`logger.app.alerts`): `warning.<kind>` holds the active warning's text,
# "" once it cleared; `status` lists the active ones. What an alert remembers across restarts:
WARNING_PREFIX = "warning."
P1_HAD_CAPTAR = "p1.had_captar"  # "1" once a telegram carried 1-0:1.6.0
LOCAL_DEVICE_TYPES = "local.device_types"  # comma list of device types the box has shown


def warning(kind: str) -> str:
    return WARNING_PREFIX + kind


# Optional features (ledger, cloud, ...; `logger.app.features`): `feature.<name>` holds why the
# feature is off or degraded, "" while it works; `status`, /metrics and /healthz read them.
FEATURE_PREFIX = "feature."


def feature(name: str) -> str:
    return FEATURE_PREFIX + name


# -- counters: persistent totals ---------------------------------------------------------------

OVERFLOW_DROPPED = "overflow_dropped"  # points the bound made the outbox drop
DEAD_LETTERED = "dead_lettered"  # points InfluxDB refused for good
DEAD_LETTERS_PRUNED = "dead_letters_pruned"  # dead letters removed by their own bound
P1_TELEGRAMS = "p1_telegrams"  # valid telegrams
P1_READER_RESTARTS = "p1_reader_restarts"
POINTS_WRITTEN = "points_written"  # points InfluxDB confirmed (2xx)
BACKFILL_GAPS_REPAIRED = "backfill_gaps_repaired"  # gaps a backfill filled from the cloud
BACKFILL_POINTS = "backfill_points"  # cloud points a backfill put into the outbox

REFUSED_UNENCODABLE = "refused_unencodable"  # points the outbox refused: text no UTF-8 can
# carry (a lone surrogate), which would have failed every commit and every write
COMMIT_FAILED = "outbox_commit_failed"  # commits that failed and were rolled back (disk full,
# read-only, locked); their points stayed in memory for the next try
HANDED_OVER = "handed_over"  # points a command handed to the running service's outbox
FLUSH_FAILED = "flush_failed"  # flushes that ended in an unexpected error (logged once a kind)
MEMORY_DROPPED = "memory_dropped"  # points dropped from memory while commits kept failing
HELD_DROPPED_PREFIX = "held_dropped."  # + target: held lines beyond the held table's bound
HELD_PREFIX = "held."  # + target: lines parked because their target could not take them

ACCEPTED_PREFIX = "accepted."  # + source + "." + measurement: points committed to the outbox
WRITE_ERRORS_PREFIX = "write_errors."  # + class: failed or refused write requests


def accepted(source: str, measurement: str) -> str:
    """`accepted.local.meter`: points of one measurement a source put into the outbox."""
    return f"{ACCEPTED_PREFIX}{source}.{measurement}"


def held(target: str) -> str:
    """`held.ledger`: lines moved aside because their target could not take them."""
    return HELD_PREFIX + target


def held_dropped(target: str) -> str:
    return HELD_DROPPED_PREFIX + target


def write_errors(kind: str) -> str:
    """`write_errors.timeout`: write requests that failed with this class of error."""
    return WRITE_ERRORS_PREFIX + kind


# Problem kinds (`logger.core.problems.Problems`) are counted under their own names, e.g.
# `local_meter_failed` or `p1_crc_mismatch`; the P1 kinds are listed in `logger.sources.p1`.

# -- the energy ledger (logger/app/ledger_job.py) ------------------------------------------------

LEDGER_LAST_RUN = "ledger.last_run"  # ISO time of the last update and what it did
LEDGER_LAST_ERROR = "ledger.last_error"  # why the last update failed ("" when it worked)
LEDGER_NEWEST_END = "ledger.newest_end"  # epoch s: end of the newest complete period computed
# (quarter-hour, hour or day; by the service or `jullix-logger ledger`): the ledger lag's base
LEDGER_LAST_RESET = "ledger.last_reset"  # the newest counter reset / meter swap seen
LEDGER_PEAK_MISMATCH = "ledger.peak_mismatch"  # the newest month whose peak disagrees
LEDGER_COUNTER_RESET = "ledger_counter_reset"  # counter: resets and meter swaps (a problem kind)
LEDGER_PEAK_MISMATCHES = "ledger_peak_mismatch"  # counter: months disagreeing with the meter

# -- Mijn Fluvius imports (logger/app/ledger_fluvius.py, fluvius_notes.py) -----------------------

FLUVIUS_MISMATCH_PREFIX = "ledger.fluvius_mismatch."  # + YYYY-MM: the month's warning text,
# "" once a recomputation agrees with Fluvius's quarter-hours
FLUVIUS_MISMATCH = "ledger_fluvius_mismatch"  # counter: months beyond [fluvius] warn_wh, per build
FLUVIUS_SEVERAL_EANS = "ledger_fluvius_several_ean"  # counter: days with two connections' data


def fluvius_mismatch(month: str) -> str:
    return FLUVIUS_MISMATCH_PREFIX + month

# -- the MQTT output for Home Assistant (logger/app/mqtt_job.py, mqtt_state.py) -----------------

MQTT_STATE = "mqtt.state"  # connected, disconnected, stopped
MQTT_STATE_SINCE = "mqtt.state_since"  # ISO time of the last change of the state
MQTT_BROKER = "mqtt.broker"  # the broker URL, password redacted
MQTT_LAST_ERROR = "mqtt.last_error"  # why the last connection failed or ended
MQTT_WAITING = "mqtt.waiting"  # values in the queue, one per entity at most
MQTT_SENT = "mqtt_sent"  # counter: messages the broker acknowledged
MQTT_DROPPED = "mqtt_dropped"  # counter: source values never sent (replaced while waiting, ...)
MQTT_UNCONFIRMED = "mqtt_unconfirmed"  # counter: of the dropped, those on the wire when the link
# broke (the broker may have kept them; the exact drop count lies between dropped - this and it)
MQTT_RECONNECTS = "mqtt_reconnects"  # counter: connections made again after a loss
MQTT_OFFERED = "mqtt_offered"  # counter: source values that went into the queue

# -- day-ahead prices and the cost ledger (logger/app/prices_job.py, cost_job.py) ---------------

PRICES_LAST_FETCH = "prices.last_fetch"  # ISO time of the last fetch and what it brought
PRICES_LAST_ERROR = "prices.last_error"  # why the last fetch failed ("" when it worked)
PRICES_NEWEST = "prices.newest_end"  # epoch s: the end of the newest known price
COST_LAST_RUN = "cost.last_run"  # ISO time of the last cost update and what it did
COST_LAST_ERROR = "cost.last_error"  # why the last cost update failed ("" when it worked)
COST_MISSING = "cost.missing_quarters"  # recent quarter-hours without a day-ahead price
PRICES_FAILED = "prices_fetch_failed"  # counter
COST_FAILED = "cost_update_failed"  # counter
