"""(issue 19) One bad thing stays where it belongs, in the outbox, the writer and the service's
health: text no UTF-8 can carry, a commit that fails (the SD card full), lines parked per
target, idle HTTP clients, a restart right after a clock step back, files root leaves behind.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sqlite3
import threading
import time
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from logger.app import http_endpoint
from logger.app.health import health_problem, storage_problem
from logger.config import InfluxSettings
from logger.core.files import write_private
from logger.core.point import Point, key_problem, tag_problem
from logger.core.receive_sequence import ReceiveSequence
from logger.outbox import Outbox
from logger.outbox.keys import COMMIT_FAILED, REFUSED_UNENCODABLE
from logger.outbox.lock import OutboxBusy, OutboxLock, holder
from logger.sink.writers import Outcome, V1Writer

SURROGATE = "inv\ud800"  # what json.loads makes of the box's legal escape "inv\\ud800"
T0 = 1_790_000_000


def point(i: int, device: str = "A01") -> Point:
    return Point("solar", (("device_id", device), ("installation", "t")),
                 (("power_w", float(i)),), T0 + i)


def test_text_no_utf8_can_carry_is_refused_as_a_tag_value_and_as_a_key():
    assert tag_problem(SURROGATE) == "is not valid Unicode text (a lone surrogate: no UTF-8 for it)"
    assert tag_problem("inv\U0001f600") is None  # a real emoji is fine
    assert key_problem("") == "is empty" and key_problem("p\udc80") is not None
    with pytest.raises(ValueError, match="lone surrogate"):
        Point.make("solar", {"device_id": SURROGATE}, {"power_w": 1.0}, T0)
    with pytest.raises(ValueError, match="field key"):
        Point.make("plug", {"device_id": "P"}, {"x\ud800": 1.0}, T0)


def test_the_outbox_refuses_such_a_point_alone_and_commits_the_others(tmp_path):
    outbox = Outbox(tmp_path / "outbox.sqlite")
    poisoned = Point("solar", (("device_id", SURROGATE),), (("power_w", 1.0),), T0)
    assert outbox.put([point(0), poisoned, point(1)], source="local") == 2
    assert outbox.commit() == 2  # before issue 19 every commit raised from here on
    assert [r.line for r in outbox.peek(10)] == [point(0).to_line(), point(1).to_line()]
    assert outbox.stats().counters[REFUSED_UNENCODABLE] == 1
    outbox.close()


@pytest.mark.integration
def test_a_writer_refuses_a_batch_it_cannot_encode_instead_of_raising(influxd, influx_db):
    """The backstop behind the door: REJECT (which the delivery bisects to dead-letter the line
    alone), never an exception out of `write` that would stop every flush."""
    writer = V1Writer(InfluxSettings(url=influxd.url, database=influx_db))

    async def go():
        try:
            bad = await writer.write([point(0).to_line(), f"solar,device_id={SURROGATE} p=1 1"])
            good = await writer.write([point(0).to_line()])
            return bad, good
        finally:
            await writer.close()

    bad, good = asyncio.run(go())
    assert bad.outcome is Outcome.REJECT and "not valid UTF-8" in bad.message
    assert good.outcome is Outcome.OK
    assert len(influxd.points(influx_db, "solar")) == 1


def fill_the_disk(outbox: Outbox) -> None:
    """SQLite's own disk-full path: the file may not grow by another page."""
    pages = outbox._db.execute("PRAGMA page_count").fetchone()[0]
    outbox._db.execute(f"PRAGMA max_page_count = {pages}")


def test_a_commit_that_fails_rolls_back_whole_and_loses_nothing_when_tried_again(tmp_path):
    outbox = Outbox(tmp_path / "outbox.sqlite")
    outbox.put([point(0)])
    outbox.commit()
    fill_the_disk(outbox)
    outbox.put([point(i) for i in range(1, 2001)], source="local")
    outbox.count("overflow_dropped", 3)
    outbox.set_meta("fact", "kept")
    for _ in range(3):
        with pytest.raises(sqlite3.OperationalError, match="full"):
            outbox.commit()
    assert "database or disk is full" in outbox.commit_failing
    assert outbox.pending == 2000  # still in memory, each of them
    outbox._db.execute("PRAGMA max_page_count = 1073741823")  # room again
    assert outbox.commit() == 2000 and outbox.commit_failing is None
    outbox.close()
    again = Outbox(tmp_path / "outbox.sqlite", read_only=True)
    stats = again.stats()
    again.close()
    assert stats.depth == 2001
    # Counts and facts of the failed commits were kept, not lost with them (issue 19).
    assert stats.counters["accepted.local.solar"] == 2000
    assert stats.counters["overflow_dropped"] == 3 and stats.counters[COMMIT_FAILED] == 3
    assert stats.meta["fact"] == "kept"


def test_while_commits_fail_memory_is_bounded_and_what_it_drops_is_counted(tmp_path,
                                                                         monkeypatch):
    from logger.outbox import store

    monkeypatch.setattr(store, "MEMORY_CAP", 100)
    outbox = Outbox(tmp_path / "outbox.sqlite")
    outbox.put([point(0)])
    outbox.commit()
    fill_the_disk(outbox)
    outbox.put([point(i) for i in range(1, 51)])
    with pytest.raises(sqlite3.OperationalError):
        outbox.commit()
    outbox.put([point(i) for i in range(51, 151)])
    assert outbox.pending == 100  # the newest 100; the oldest 50 dropped
    assert outbox.stats().counters["memory_dropped"] == 50
    outbox._db.execute("PRAGMA max_page_count = 1073741823")
    assert outbox.commit() == 100
    outbox.close()


def test_failing_commits_are_reported_but_are_no_reason_to_restart():
    """A restart frees no disk and loses what memory holds: the watchdog's rule stays quiet
    while commits are tried and fail; `/healthz` says 503 with the reason."""
    now = 1000.0
    outbox = SimpleNamespace(commit_failing="OperationalError: database or disk is full",
                             pending=42)
    settings = SimpleNamespace(influx=SimpleNamespace(timeout=10.0),
                               outbox=SimpleNamespace(commit_interval=5.0))
    failing = SimpleNamespace(settings=settings, outbox=outbox, scheduler=None,
                              flush_started_at=None, last_commit_ok=now - 300,
                              last_commit_attempt=now - 1)
    assert health_problem(failing, now) is None
    assert storage_problem(failing).startswith("the outbox cannot commit to disk")
    assert "42 points wait in memory" in storage_problem(failing)
    stalled = SimpleNamespace(**{**vars(failing), "last_commit_attempt": now - 300})
    assert health_problem(stalled, now).startswith("the outbox has not committed for 300 s")
    healthy = SimpleNamespace(**{**vars(failing), "outbox": SimpleNamespace(
        commit_failing=None, pending=0)})
    assert storage_problem(healthy) is None


def test_held_lines_are_bounded_per_target_and_the_surplus_counted(tmp_path):
    outbox = Outbox(tmp_path / "outbox.sqlite")
    outbox.held.max_rows = 5
    outbox.put([point(i) for i in range(8)])
    outbox.commit()
    outbox.hold(outbox.peek(8), "ledger", "no policy")
    assert outbox.held.counts() == {"ledger": 5} and outbox.depth() == 0
    assert outbox.stats().counters["held_dropped.ledger"] == 3
    assert outbox.release_held("ledger", 100) == 5
    assert [r.line for r in outbox.peek(10)] == [point(i).to_line() for i in range(3, 8)]
    outbox.close()


def test_a_second_drainer_of_one_outbox_is_refused_and_a_crash_leaves_no_stale_lock(tmp_path):
    path = tmp_path / "outbox.sqlite"
    first = OutboxLock(path).acquire()
    with pytest.raises(OutboxBusy, match=f"pid {os.getpid()} is already using"):
        OutboxLock(path).acquire()
    assert holder(path) == os.getpid()
    first.release()  # the kernel does the same when the process dies, kill -9 included
    assert holder(path) is None
    OutboxLock(path).acquire().release()


def test_a_restart_continues_after_the_previous_runs_last_receive_second():
    """After a clock step back (NTP answering on a Pi) and a restart, a poll must not take a
    second the previous run already stamped; a restored stamp far ahead is not followed."""
    last = datetime(2026, 12, 1, 12, 0, 30, tzinfo=UTC)
    sequence = ReceiveSequence("local")
    sequence.restore(last)
    assert sequence.next(last - timedelta(seconds=10)) == last + timedelta(seconds=1)
    assert sequence.next(last - timedelta(seconds=5)) == last + timedelta(seconds=2)
    wrong = ReceiveSequence("local")
    wrong.restore(last + timedelta(days=2))  # the previous run's clock was wrong
    assert wrong.next(last) == last


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file away needs root (CI runs as root)")
def test_files_root_writes_in_the_services_directory_belong_to_the_service(tmp_path):
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    os.chown(state, 65534, 65534)  # the service's user owns its state directory
    write_private(state / "backfill-state.json", "{}")
    Outbox(state / "outbox.sqlite").close()
    OutboxLock(state / "outbox.sqlite").acquire().release()
    owners = {p.name: (p.stat().st_uid, p.stat().st_gid) for p in state.iterdir()}
    assert owners and set(owners.values()) == {(65534, 65534)}, owners
    mine = tmp_path / "mine"
    mine.mkdir()
    write_private(mine / "x.json", "{}")  # a directory of root's own stays root's
    assert (mine / "x.json").stat().st_uid == 0


def test_idle_http_clients_are_bounded_and_cut_off(tmp_path):
    """150 clients that connect and say nothing: they hold no more than `MAX_CLIENTS` threads
    (the rest are closed at once), are closed after `CLIENT_TIMEOUT`, and `/healthz` is
    answered again as soon as they are gone (before issue 19: 150 threads, for ever)."""
    from harness import http_get

    service = SimpleNamespace(settings=SimpleNamespace(
        influx=SimpleNamespace(timeout=10.0), outbox=SimpleNamespace(commit_interval=5.0)),
        outbox=SimpleNamespace(commit_failing=None, pending=0), scheduler=None,
        flush_started_at=None, last_commit_ok=None, features=None)

    async def scenario() -> tuple[int, int, list[bool], tuple[int, str]]:
        endpoint = http_endpoint.HttpEndpoint(service, "127.0.0.1", 0)
        assert endpoint.start()
        before = threading.active_count()
        started = time.monotonic()
        idle = [socket.create_connection(("127.0.0.1", endpoint.port)) for _ in range(150)]
        connected = time.monotonic() - started
        await asyncio.sleep(http_endpoint.CLIENT_TIMEOUT * 0.6)  # every one accepted by now
        during = threading.active_count() - before
        await asyncio.sleep(http_endpoint.CLIENT_TIMEOUT * 0.6)  # past the client timeout
        answer = await asyncio.to_thread(http_get, endpoint.url + "/healthz")
        closed = []
        for sock in idle:
            sock.settimeout(2.0)
            try:
                closed.append(sock.recv(1) == b"")  # the server hung up
            except ConnectionResetError:
                closed.append(True)
            except TimeoutError:  # still open, still holding a thread
                closed.append(False)
            sock.close()
        after = threading.active_count() - before
        await endpoint.stop()
        assert connected < http_endpoint.CLIENT_TIMEOUT * 0.5, connected  # not held in a backlog
        return during, after, closed, answer

    during, after, closed, answer = asyncio.run(scenario())
    assert during <= http_endpoint.MAX_CLIENTS, during
    assert after <= 1, after
    assert all(closed), closed.count(False)
    assert answer == (200, "ok\n")
