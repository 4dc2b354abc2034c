"""The optional features: on, off or degraded, with the one line why.

The ledger, the cloud and its backfill today; MQTT and day-ahead prices report here the same
way. A feature that is off never stops raw logging (issue 19), and that is said where people
look, not only once in the journal:
- the running service records why a feature is off (`Features.set`: the outbox's meta
  `feature.<name>`, stored at once), which `/metrics` (`jullix_feature_off`), `/healthz` (200
  `degraded: ...`) and `_jullix_health` read in-process (`Features.off`);
- `status`, from another process, prints one line per feature (`feature_states`), from the
  settings and what the service recorded. A new feature adds one function returning its
  `Feature` and one entry in `FEATURES`.
The journal line is the reporting component's own (said once per reason), not repeated here.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from logger.config import Settings
from logger.core.durations import iso_and_age, moment_and_age
from logger.outbox import Outbox, keys

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
    off = meta.get(keys.feature("ledger"), "")
    if off:  # the service switched it off: its place in InfluxDB cannot take it (issue 19)
        return Feature("ledger", OFF, off)
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
    state = meta.get(keys.CLOUD_STATE, "")
    detail = meta.get(keys.CLOUD_DETAIL, "")
    since = _since(meta, keys.CLOUD_STATE_SINCE)
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
    result = meta.get(keys.BACKFILL_LAST_RESULT, "")
    state = DEGRADED if result.startswith("failed") else ON
    return Feature("backfill", state, f"last run {iso_and_age(last)}: "
                   f"{result or 'no result recorded'}")


FEATURES: tuple[Callable[[Settings, Mapping[str, str]], Feature], ...] = (
    ledger_feature, cloud_feature, backfill_feature,
)


def feature_states(settings: Settings, meta: Mapping[str, str]) -> list[Feature]:
    """Each optional feature's state, from the settings and what the service recorded; a
    feature the service switched off that has no function here is listed too."""
    states = [feature(settings, meta) for feature in FEATURES]
    named = {state.name for state in states}
    states += [Feature(name, OFF, why) for name, why in sorted(features_off(meta).items())
               if name not in named]
    return states


class Features:
    """Which optional features are off, and why; kept in the outbox's meta for `status`."""

    def __init__(self, outbox: Outbox) -> None:
        self.outbox = outbox
        self.off: dict[str, str] = {}

    def set(self, name: str, problem: str | None) -> None:
        """`problem` None: the feature works; else why it is off."""
        if self.off.get(name) == problem:
            return
        if problem is None:
            self.off.pop(name, None)
        else:
            self.off[name] = problem
        self.outbox.set_meta(keys.feature(name), problem or "")
        with contextlib.suppress(sqlite3.Error, OSError):  # a change is rare: `status` sees it
            self.outbox.commit(points=False)  # now, not with the next meta commit (30 s)


def features_off(meta: Mapping[str, str]) -> dict[str, str]:
    """Feature -> why it is off, from the outbox's meta (the service's last word on each)."""
    return {key.removeprefix(keys.FEATURE_PREFIX): text for key, text in meta.items()
            if key.startswith(keys.FEATURE_PREFIX) and text}
