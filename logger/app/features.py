"""The optional features' states, one line each: on, off or degraded, with the reason.

Optional features (the ledger, the cloud and its backfill; MQTT and day-ahead prices when they
land) must never block raw logging, so when one is off or failing that is said here rather than
only once in the journal. `status` prints these lines; `/healthz` and `/metrics` can read the same
list. A new feature adds one function returning its `Feature` and one entry in `FEATURES`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from logger.app import facts
from logger.config import Settings
from logger.core.durations import iso_and_age, moment_and_age
from logger.outbox import keys

ON, OFF, DEGRADED = "on", "off", "degraded"


@dataclass(frozen=True)
class Feature:
    name: str
    state: str  # ON, OFF or DEGRADED
    reason: str  # one line: what it does now, why it is off, or what is wrong


def _since(meta: Mapping[str, str], key: str) -> str:
    value = meta.get(key, "")
    return f" since {moment_and_age(int(value))}" if value.isdigit() else ""


def ledger_feature(settings: Settings, meta: Mapping[str, str]) -> Feature:
    if not settings.ledger.enabled:
        return Feature("ledger", OFF, "[ledger] enabled = false")
    if not settings.influx.configured:
        return Feature("ledger", OFF, "needs InfluxDB ([influx] url is empty)")
    error = meta.get(keys.LEDGER_LAST_ERROR, "")
    if error:
        return Feature("ledger", DEGRADED, f"the last update failed: {error}")
    last, _, what = meta.get(keys.LEDGER_LAST_RUN, "").partition(": ")
    if not last:
        return Feature("ledger", ON, "no update yet (the service updates it every "
                       f"{settings.ledger.interval / 60:g} min)")
    return Feature("ledger", ON, f"last update {iso_and_age(last)}: {what}")


def cloud_feature(settings: Settings, meta: Mapping[str, str]) -> Feature:
    if not settings.cloud.enabled:
        return Feature("cloud", OFF, "[cloud] enabled = false")
    state = meta.get(facts.CLOUD_STATE, "")
    detail = meta.get(facts.CLOUD_DETAIL, "")
    since = _since(meta, facts.CLOUD_STATE_SINCE)
    if state == "stopped":
        return Feature("cloud", DEGRADED, f"stopped{since}: {detail}")
    if state == "failing":
        return Feature("cloud", DEGRADED, f"failing{since} (tried again): {detail}")
    if state == "ok":
        return Feature("cloud", ON, f"answering{since} ({detail})")
    return Feature("cloud", ON, "no cloud call recorded yet")


def backfill_feature(settings: Settings, meta: Mapping[str, str]) -> Feature:
    enabled = settings.backfill.enabled
    if enabled is None:
        enabled = settings.cloud.enabled
    if not enabled:
        return Feature("backfill", OFF, "follows [cloud] enabled = false" if
                       settings.backfill.enabled is None else "[backfill] enabled = false")
    if not settings.influx.configured:
        return Feature("backfill", OFF, "needs InfluxDB to find gaps ([influx] url is empty)")
    last = meta.get(keys.BACKFILL_LAST_RUN)
    if not last:
        return Feature("backfill", ON, "no run yet (the service runs it hourly)")
    result = meta.get(facts.BACKFILL_LAST_RESULT, "")
    state = DEGRADED if result.startswith("failed") else ON
    return Feature("backfill", state, f"last run {iso_and_age(last)}: "
                   f"{result or 'no result recorded'}")


FEATURES: tuple[Callable[[Settings, Mapping[str, str]], Feature], ...] = (
    ledger_feature, cloud_feature, backfill_feature,
)


def feature_states(settings: Settings, meta: Mapping[str, str]) -> list[Feature]:
    """Each optional feature's state, from the settings and what the service recorded."""
    return [feature(settings, meta) for feature in FEATURES]
