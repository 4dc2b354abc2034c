"""The outbox: durable, deduplicating, bounded, and honest about what it dropped."""

import sqlite3
import time

from logger.core.point import Point
from logger.outbox import Outbox
from logger.outbox.store import COMMIT_AGE, META_INTERVAL


def make(i, value=1.0, measurement="m"):
    return Point.make(measurement, {"installation": "home"}, {"f": value}, 1_700_000_000 + i)


def test_points_are_durable_only_after_commit(tmp_path):
    outbox = Outbox(tmp_path / "o.sqlite")
    outbox.put([make(1), make(2)])
    assert outbox.committed_depth() == 0
    assert outbox.depth() == 2  # waiting in memory
    assert outbox.commit() == 2
    assert outbox.committed_depth() == 2
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
    assert outbox.dead_letters.count() == 1
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


# -- memory first, disk for what InfluxDB did not confirm in time (issue 14) ---------------------

def rows_on_disk(path) -> int:
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]
    finally:
        db.close()


def test_points_influxdb_confirms_from_memory_never_touch_the_disk(tmp_path):
    path = tmp_path / "o.sqlite"
    outbox = Outbox(path, commit_interval=5.0)
    outbox.put([make(i) for i in range(3)])
    in_flight = outbox.peek(10)
    assert [r.id for r in in_flight] == [None, None, None]
    outbox.ack(in_flight)
    assert outbox.depth() == 0
    assert outbox.commit_due(time.monotonic() + 60) == 0
    outbox.close()
    assert rows_on_disk(path) == 0


def test_unconfirmed_points_are_committed_once_the_oldest_waited_its_share_of_the_interval(
        tmp_path):
    path = tmp_path / "o.sqlite"
    outbox = Outbox(path, commit_interval=5.0)
    outbox.put([make(1)])
    put_at = time.monotonic()
    outbox.put([make(2)])
    assert outbox.commit_due(put_at + COMMIT_AGE * 5.0 - 0.1) == 0
    assert rows_on_disk(path) == 0
    assert outbox.commit_due(put_at + COMMIT_AGE * 5.0 + 0.1) == 2  # the young one goes too
    assert rows_on_disk(path) == 2
    assert outbox.pending == 0


def test_a_point_committed_while_its_write_was_in_flight_leaves_the_disk_when_confirmed(
        tmp_path):
    outbox = Outbox(tmp_path / "o.sqlite")
    outbox.put([make(1, 1.0), make(2, 1.0)])
    in_flight = outbox.peek(10)
    outbox.commit()  # the commit job ran while the POST was under way
    outbox.put([make(2, 7.0)])  # and point 2 got new values
    outbox.commit()
    outbox.ack(in_flight)
    assert [r.line for r in outbox.peek(10)] == [make(2, 7.0).to_line()]


def test_a_point_replaced_in_memory_while_in_flight_stays_queued_with_its_new_values(tmp_path):
    outbox = Outbox(tmp_path / "o.sqlite")
    outbox.put([make(1, 1.0)])
    in_flight = outbox.peek(10)
    outbox.put([make(1, 2.0)])
    outbox.ack(in_flight)
    assert [r.line for r in outbox.peek(10)] == [make(1, 2.0).to_line()]


def test_committed_rows_are_sent_before_points_in_memory(tmp_path):
    outbox = Outbox(tmp_path / "o.sqlite")
    outbox.put([make(1)])
    outbox.commit()
    outbox.put([make(2)])
    rows = outbox.peek(10)
    assert [r.line for r in rows] == [make(1).to_line(), make(2).to_line()]
    assert rows[0].id is not None and rows[1].id is None


def test_meta_alone_is_committed_at_most_every_meta_interval(tmp_path):
    path = tmp_path / "o.sqlite"
    outbox = Outbox(path)
    outbox.set_meta("k", "v")
    now = time.monotonic()
    outbox.commit_due(now + 1)
    assert Outbox(path, read_only=True).get_meta("k") is None
    outbox.commit_due(now + META_INTERVAL + 1)
    assert Outbox(path, read_only=True).get_meta("k") == "v"


def test_depth_and_oldest_age_cover_memory_and_disk(tmp_path):
    outbox = Outbox(tmp_path / "o.sqlite")
    assert outbox.oldest_age() is None
    outbox.put([make(1)])
    outbox.commit()
    outbox.put([make(2)])
    stats = outbox.stats()
    assert stats.depth == 2 and outbox.pending == 1
    assert 0.0 <= stats.oldest_age_s < 5.0


# -- dead letters bounded on their own, queue bound from the queue alone (issue 13, item 3) ------

def test_dead_letters_do_not_crowd_out_live_points(tmp_path):
    """10,391 dead letters and max_mb = 1 used to keep 13 of 20 good points."""
    outbox = Outbox(tmp_path / "o.sqlite", max_mb=1.0, dead_letter_max=20_000)
    for start in range(0, 10_391, 1000):
        outbox.put([make(i, measurement="refused_" + "x" * 100)
                    for i in range(start, min(start + 1000, 10_391))])
        outbox.commit()
        outbox.dead_letter(outbox.peek(1000), "field type conflict", 400)
    assert sum(len(line) for line in outbox.iter_lines(dead_letters=True)) > 1024 * 1024
    assert outbox.dead_letters.count() == 10_391
    good = [make(100_000 + i) for i in range(20)]
    outbox.put(good)
    outbox.commit()
    assert [r.line for r in outbox.peek(100)] == [p.to_line() for p in good]
    assert outbox.stats().counters.get("overflow_dropped", 0) == 0


def test_dead_letters_are_bounded_by_count_keeping_the_newest_and_counting_the_rest(tmp_path):
    outbox = Outbox(tmp_path / "o.sqlite", dead_letter_max=100)
    outbox.put([make(i) for i in range(150)])
    outbox.commit()
    outbox.dead_letter(outbox.peek(150), "bad", 400)
    assert outbox.dead_letters.count() == 100
    assert outbox.dead_letter_rows(1)[0][0] == make(149).to_line()
    assert outbox.stats().counters["dead_letters_pruned"] == 50
    assert outbox.stats().counters["dead_lettered"] == 150


def test_dead_letters_older_than_their_age_bound_go_at_open(tmp_path):
    path = tmp_path / "o.sqlite"
    outbox = Outbox(path, dead_letter_days=30)
    outbox.put([make(1), make(2)])
    outbox.commit()
    outbox.dead_letter(outbox.peek(2), "bad", 400)
    outbox.close()
    db = sqlite3.connect(path)
    db.execute("UPDATE dead_letter SET failed_at = failed_at - 31 * 86400 WHERE line = ?",
               (make(1).to_line(),))
    db.commit()
    db.close()
    again = Outbox(path, dead_letter_days=30)
    assert again.dead_letter_rows() == [(make(2).to_line(), "bad", 400)]
    assert again.stats().counters["dead_letters_pruned"] == 1


def test_a_line_replaced_while_its_batch_was_in_flight_is_not_dead_lettered_away(tmp_path):
    outbox = Outbox(tmp_path / "o.sqlite")
    outbox.put([make(1, 1.0)])
    outbox.commit()
    in_flight = outbox.peek(1)
    outbox.put([make(1, 9.0)])
    outbox.commit()
    outbox.dead_letter(in_flight, "field type conflict", 400)
    assert [r.line for r in outbox.peek(10)] == [make(1, 9.0).to_line()]
    assert outbox.dead_letter_rows() == [(make(1, 1.0).to_line(), "field type conflict", 400)]
