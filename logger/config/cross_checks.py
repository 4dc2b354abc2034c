"""Rules between sections, which no single section can check on its own (issue 19).

- The ledger's retention policy (v1) or bucket (v2) must not be the raw series' own: migrations
  0002 and 0003 would set the same policy in turn, one to `[influx] raw_retention`, the other to
  `[ledger] retention`, and the raw series would silently be kept as long as the ledger.
- `[ledger] gap` (readings further apart are a gap) must leave room for the slowest meter
  cadence that feeds the ledger (`[p1] every`, `[local] interval`): with every = 300 and a gap
  of 60 every period of a complete day would count as a gap (coverage 0 %). Left out, it is
  derived: three readings' time at the slowest cadence, at least `MIN_DERIVED_GAP`.
"""

from __future__ import annotations

from typing import Any

MIN_DERIVED_GAP = 60.0  # seconds: the default gap at the usual cadences (1 s P1, 5 s local)
GAP_READINGS = 3.0  # a derived gap: this many readings' time at the slowest cadence
MIN_GAP_READINGS = 2.0  # a gap set by hand: at least this many


def raw_and_ledger_places(settings: Any) -> tuple[str, str]:
    """Where the raw series and the ledger go, as comparable `database/policy` strings (an
    unnamed policy, or a v2 bucket without one, is `autogen`: InfluxDB's default)."""
    influx, ledger = settings.influx, settings.ledger
    if influx.api == "v2":
        database, _, policy = influx.bucket.partition("/")
        raw = f"{database}/{policy or 'autogen'}"
        return raw, f"{database}/{ledger.retention_policy}"
    return (f"{influx.database}/{influx.retention_policy or 'autogen'}",
            f"{influx.database}/{ledger.retention_policy}")


def check_ledger_place(settings: Any) -> None:
    raw, ledger = raw_and_ledger_places(settings)
    if raw == ledger:
        key = "[influx] bucket" if settings.influx.api == "v2" else "[influx] retention_policy"
        raise ValueError(
            f"[ledger] retention_policy {settings.ledger.retention_policy!r} is where the raw "
            f"series go ({key} -> {raw}): the ledger needs a place of its own (the default is "
            "'ledger'), or [influx] raw_retention and [ledger] retention would set one policy "
            "in turn")


def slowest_meter_cadence(settings: Any) -> float | None:
    """Seconds between two meter readings at the slowest source feeding the ledger."""
    source = settings.ledger.source
    cadences = []
    if settings.p1.enabled and source != "meter":
        cadences.append(float(settings.p1.every))
    if settings.local.enabled and source != "p1":
        cadences.append(float(settings.local.interval))
    return max(cadences, default=None)


def settle_ledger_gap(settings: Any) -> None:
    """Derive `[ledger] gap` from the cadence when it was left out; refuse one set too short."""
    cadence = slowest_meter_cadence(settings)
    if cadence is None:
        return
    ledger = settings.ledger
    if "gap" not in ledger.model_fields_set:
        ledger.gap = max(MIN_DERIVED_GAP, GAP_READINGS * cadence)
        ledger.model_fields_set.discard("gap")  # still "left out": derived again after a change
        return
    if ledger.gap < MIN_GAP_READINGS * cadence:
        raise ValueError(
            f"[ledger] gap = {ledger.gap:g} s is shorter than {MIN_GAP_READINGS:g} readings at "
            f"the slowest meter cadence ({cadence:g} s: [p1] every / [local] interval): every "
            f"period would count as a gap; use at least {MIN_GAP_READINGS * cadence:g}, or "
            "leave it out to have it derived")
