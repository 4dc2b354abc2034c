"""The logger's own health as a point, `_jullix_health`, for the Grafana "Logger health" board.

Why in InfluxDB: the dashboards speak InfluxQL only, and a health history stored next to the
data travels with it (a restore, a second Grafana) and shows what happened during an outage
once the backlog arrives. It goes through the outbox like every other point, so it is as durable
and as deduplicated, and the outbox depth it reports while InfluxDB is away is exactly what the
dashboard shows afterwards. Only written when InfluxDB is configured: in the embedded store it
would only take room from the data.

Counters are the outbox's persistent totals (they survive restarts), so a dashboard takes
`non_negative_difference` of them for rates. Fields follow docs/schema.md (`_jullix_health`).
"""

from __future__ import annotations

from logger.app import mqtt_state
from logger.app.snapshot import Snapshot
from logger.core.point import Point

MEASUREMENT = "_jullix_health"


def health_fields(snap: Snapshot) -> dict[str, float | None]:
    """The fields of one `_jullix_health` point (None = not written)."""
    counters = snap.counters
    fields: dict[str, float | None] = {
        "healthy": 0.0 if snap.problem else 1.0,
        "outbox_depth": float(snap.outbox_depth),
        "outbox_oldest_age_s": (0.0 if snap.outbox_oldest_age_s is None
                                else round(snap.outbox_oldest_age_s, 1)),
        "outbox_bytes": float(snap.outbox_bytes),
        "dead_letters": float(snap.dead_letters),
        "overflow_dropped": float(counters.get("overflow_dropped", 0)),
        "points_written": float(counters.get("points_written", 0)),
        "write_errors": float(sum(snap.write_errors().values())),
        "local_poll_errors": float(sum(snap.local_poll_errors().values())),
        "cloud_errors": float(sum(snap.cloud_errors().values())),
        "backfill_gaps_repaired": float(counters.get("backfill_gaps_repaired", 0)),
        "backfill_points": float(counters.get("backfill_points", 0)),
        "warnings": float(len(snap.warnings)),
        "features_off": float(len(snap.features_off)),
        "held_points": float(sum(snap.held.values())),
        "refused_points": float(counters.get("refused_unencodable", 0)),
        "commit_failures": float(counters.get("outbox_commit_failed", 0)),
    }
    for (source, _), value in snap.accepted().items():
        name = f"points_accepted_{source}"
        fields[name] = (fields.get(name) or 0.0) + value
    lag = snap.ledger_lag_s
    fields["ledger_lag_s"] = None if lag is None else round(lag, 1)
    gaps_open = snap.backfill_gaps_open
    fields["backfill_gaps_open"] = None if gaps_open is None else float(gaps_open)
    if snap.p1_enabled:
        fields["p1_link_up"] = 1.0 if snap.p1_link_up else 0.0
        fields["p1_telegrams"] = float(counters.get("p1_telegrams", 0))
        fields["p1_errors"] = float(sum(snap.p1_errors().values()))
        age = snap.p1_last_telegram_age_s
        fields["p1_last_telegram_age_s"] = None if age is None else round(age, 1)
    if snap.mqtt_connected is not None:
        fields["mqtt_connected"] = 1.0 if snap.mqtt_connected else 0.0
        fields.update({name: float(counters.get(name, 0)) for name in
                       (mqtt_state.SENT, mqtt_state.DROPPED, mqtt_state.RECONNECTS)})
    return fields


def health_point(snap: Snapshot) -> Point | None:
    return Point.make(MEASUREMENT, {"installation": snap.installation}, health_fields(snap),
                      int(snap.at))
