"""`_jullix_health`: the logger's own record, computed from the same counters `status` lists."""

from __future__ import annotations

from logger.app.health_points import MEASUREMENT, health_point
from logger.app.snapshot import Snapshot


def snapshot(**changes) -> Snapshot:
    values = dict(
        at=1_790_000_000.7, installation="home", problem=None, outbox_depth=12,
        outbox_oldest_age_s=3.04, outbox_bytes=40960, outbox_max_bytes=209715200,
        dead_letters=1,
        counters={
            "accepted.local.meter": 10, "accepted.local.power_flow": 10, "accepted.p1.p1": 7,
            "accepted.p1.p1_peak": 13, "points_written": 30, "write_errors.timeout": 2,
            "write_errors.server_error": 3, "local_meter_failed": 4, "local_solar_failed": 1,
            "local_meter_time_backwards": 9, "p1_telegrams": 7, "p1_crc_mismatch": 2,
            "p1_garbage": 1, "p1_reader_restarts": 5, "cloud_realtime_failed": 1,
            "backfill_failed": 2, "backfill_gaps_repaired": 1, "backfill_points": 8,
            "overflow_dropped": 6, "refused_unencodable": 2, "outbox_commit_failed": 4,
        },
        meta={"p1.state": "connected", "backfill.gaps_open": "0"},
        influx_configured=True, sink_ready=True, p1_enabled=True, p1_last_telegram_age_s=0.42,
        warnings={"p1_captar_missing": "since ..."},
        features_off={"ledger": "migration 0003 ... failed"}, held={"ledger": 17},
    )
    values.update(changes)
    return Snapshot(**values)


def test_one_point_per_reading_with_the_totals_summed_by_hand():
    point = health_point(snapshot())
    assert point.measurement == MEASUREMENT and point.tag_dict == {"installation": "home"}
    assert point.time_s == 1_790_000_000
    assert point.field_dict == {
        "healthy": 1.0, "outbox_depth": 12.0, "outbox_oldest_age_s": 3.0,
        "outbox_bytes": 40960.0, "dead_letters": 1.0, "overflow_dropped": 6.0,
        "points_written": 30.0, "write_errors": 5.0,
        "local_poll_errors": 5.0,  # meter 4 + solar 1; a meter time going back is no poll error
        "cloud_errors": 3.0, "backfill_gaps_repaired": 1.0, "backfill_points": 8.0,
        "backfill_gaps_open": 0.0, "warnings": 1.0,
        "points_accepted_local": 20.0, "points_accepted_p1": 20.0,
        "p1_link_up": 1.0, "p1_telegrams": 7.0,
        "p1_errors": 3.0,  # crc 2 + garbage 1; reader restarts are not damaged input
        "p1_last_telegram_age_s": 0.4,
        "features_off": 1.0, "held_points": 17.0, "refused_points": 2.0, "commit_failures": 4.0,
    }


def test_what_is_not_there_is_not_written():
    point = health_point(snapshot(problem="the scheduler is not running", p1_enabled=False,
                                  outbox_oldest_age_s=None, meta={}, counters={}))
    fields = point.field_dict
    assert fields["healthy"] == 0.0 and fields["outbox_oldest_age_s"] == 0.0
    assert not [name for name in fields if name.startswith(("p1_", "points_accepted_"))]
    assert "backfill_gaps_open" not in fields  # before the first backfill run
