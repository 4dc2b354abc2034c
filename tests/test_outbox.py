"""The outbox: durable, deduplicating, bounded, and honest about what it dropped."""

import sqlite3

from logger.core.point import Point
from logger.outbox import Outbox


def make(i, value=1.0, measurement="m"):
    return Point.make(measurement, {"installation": "home"}, {"f": value}, 1_700_000_000 + i)


def test_points_are_durable_only_after_commit(tmp_path):
    outbox = Outbox(tmp_path / "o.sqlite")
    outbox.put([make(1), make(2)])
    assert outbox.depth() == 0
    assert outbox.commit() == 2
    assert outbox.depth() == 2
    reopened = Outbox(tmp_path / "o.sqlite")
    assert [r.line for r in reopened.peek(10)] == [make(1).to_line(), make(2).to_line()]


def test_points_put_with_a_source_are_counted_per_measurement_in_the_same_commit(tmp_path):
    outbox = Outbox(tmp_path / "o.sqlite")
    outbox.put([make(1), make(2), make(3, measurement="n")], source="local")
    outbox.put([make(4)])  # no source: not counted
    assert "accepted.local.m" not in Outbox(tmp_path / "o.sqlite").stats().counters
    outbox.commit()
    counters = Outbox(tmp_path / "o.sqlite", read_only=True).stats().counters
    assert counters == {"accepted.local.m": 2, "accepted.local.n": 1}


def test_uses_write_ahead_logging(tmp_path):
    Outbox(tmp_path / "o.sqlite")
    mode = sqlite3.connect(tmp_path / "o.sqlite").execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_the_same_point_identity_is_queued_once_with_the_latest_values(tmp_path):
    outbox = Outbox(tmp_path / "o.sqlite")
    outbox.put([make(1, 1.0)])
    outbox.commit()
    outbox.put([make(1, 2.0), make(1, 3.0)])
    outbox.commit()
    assert [r.line for r in outbox.peek(10)] == [make(1, 3.0).to_line()]


def test_rows_leave_only_when_acknowledged(tmp_path):
    outbox = Outbox(tmp_path / "o.sqlite")
    outbox.put([make(i) for i in range(5)])
    outbox.commit()
    rows = outbox.peek(3)
    assert outbox.depth() == 5
    outbox.ack(rows)
    assert outbox.depth() == 2


def test_a_row_replaced_while_in_flight_is_not_acknowledged_away(tmp_path):
    outbox = Outbox(tmp_path / "o.sqlite")
    outbox.put([make(1, 1.0)])
    outbox.commit()
    in_flight = outbox.peek(1)
    outbox.put([make(1, 9.0)])
    outbox.commit()
    outbox.ack(in_flight)
    assert [r.line for r in outbox.peek(10)] == [make(1, 9.0).to_line()]


def test_dead_letters_keep_the_line_and_the_servers_reason(tmp_path):
    outbox = Outbox(tmp_path / "o.sqlite")
    outbox.put([make(1), make(2)])
    outbox.commit()
    rows = outbox.peek(1)
    outbox.dead_letter(rows, "field type conflict", 400)
    assert outbox.depth() == 1
    assert outbox.dead_letter_rows() == [(make(1).to_line(), "field type conflict", 400)]
    assert outbox.stats().counters["dead_lettered"] == 1


def test_overflow_drops_the_oldest_and_counts_them(tmp_path):
    outbox = Outbox(tmp_path / "o.sqlite", max_mb=0.25, overflow="drop_oldest")
    for batch in range(30):
        outbox.put([make(batch * 100 + i, measurement="m" * 50) for i in range(100)])
        outbox.commit()
    stats = outbox.stats()
    assert stats.size_bytes <= 0.25 * 1024 * 1024
    dropped = stats.counters["overflow_dropped"]
    assert dropped > 0
    assert stats.depth + dropped == 3000
    newest = outbox.peek(10_000)[-1].line
    assert newest.endswith(str(1_700_000_000 + 2999))


def test_overflow_drop_newest_keeps_the_oldest(tmp_path):
    outbox = Outbox(tmp_path / "o.sqlite", max_mb=0.25, overflow="drop_newest")
    for batch in range(30):
        outbox.put([make(batch * 100 + i, measurement="m" * 50) for i in range(100)])
        outbox.commit()
    assert outbox.peek(1)[0].line.endswith(str(1_700_000_000))
    assert outbox.stats().counters["overflow_dropped"] > 0


def test_meta_and_counters_persist(tmp_path):
    outbox = Outbox(tmp_path / "o.sqlite")
    outbox.set_meta("k", "v")
    outbox.count("bad_crc", 2)
    outbox.close()
    again = Outbox(tmp_path / "o.sqlite", read_only=True)
    assert again.get_meta("k") == "v"
    assert again.stats().counters == {"bad_crc": 2}
