"""The backfill state file: what was fetched, what failed and when to try again, who may read it.

The expected waits are the documented policy (first retry after about one interval, doubling,
at most a week, each a random delay in [ceiling / 2, ceiling]), written out here as numbers.
"""

from __future__ import annotations

import json
import os
import random

from logger.app.backfill.state import STATE_FILE, BackfillState, failing_gaps
from logger.core.files import write_private
from logger.sink.gaps import Gap

HOUR, WEEK = 3600, 7 * 86400


def test_a_failing_gap_waits_longer_each_time_up_to_a_week_and_a_success_clears_it(tmp_path):
    path = tmp_path / STATE_FILE
    gap, now = Gap(1_000_000, 1_000_100), 2_000_000
    waits = []
    for n in range(1, 12):
        state = BackfillState(path, "home", retry_first=HOUR, rng=random.Random(n))
        failure = state.failed(gap, now, "cloud unavailable: HTTP 503")
        state.save()
        assert failure.failures == n
        waits.append(failure.next_try - now)
        assert state.waiting(gap, now + waits[-1] - 1) is not None
        assert state.waiting(gap, now + waits[-1]) is None
    for n, wait in enumerate(waits, start=1):
        ceiling = min(WEEK, HOUR * 2 ** (n - 1))
        assert ceiling // 2 - 1 <= wait <= ceiling, (n, wait)
    assert waits[-1] > 3 * 86400  # after 11 failures: days, not an hour
    [listed] = failing_gaps(path, "home")
    assert (listed.gap, listed.failures, listed.reason) == (gap, 11, "cloud unavailable: HTTP 503")

    state = BackfillState(path, "home")
    state.record(gap, now)
    state.save()
    again = BackfillState(path, "home")
    assert again.failing == {} and again.covers(gap, now + 10 * 86400, recheck=3 * HOUR)


def test_a_version_1_file_is_read_and_other_installations_are_kept(tmp_path):
    path = tmp_path / STATE_FILE
    path.write_text(json.dumps({"version": 1, "installations": {
        "home": [[100, 200, 5000], ["bad"], [1, 2]], "cabin": [[300, 400, 5000]]}}))
    state = BackfillState(path, "home")
    assert state.records == [[100, 200, 5000]]
    state.failed(Gap(500, 600), 7000, "x")
    state.save()
    saved = json.loads(path.read_text())
    assert saved["version"] == 2
    assert saved["installations"]["cabin"] == [[300, 400, 5000]]
    assert BackfillState(path, "cabin").covers(Gap(300, 400), 9000, 0)
    assert BackfillState(path, "home").failing[Gap(500, 600)].failures == 1


def test_an_unreadable_file_starts_afresh(tmp_path, caplog):
    path = tmp_path / STATE_FILE
    path.write_text("{not json")
    state = BackfillState(path, "home")
    assert state.records == [] and state.failing == {}
    assert "unreadable" in caplog.text


def test_the_state_is_private_whatever_the_umask(tmp_path):
    for umask in (0, 0o277):  # 0o277 would make the file 0400 and the directories 0500
        shared = tmp_path / f"shared-{umask}"
        shared.mkdir()
        shared.chmod(0o755)
        target = tmp_path / f"new-{umask}" / "dir" / STATE_FILE
        old = os.umask(umask)
        try:
            BackfillState(target, "home").save()
            write_private(shared / "existing.json", "{}")
            write_private(shared / "existing.json", "{}")  # replaced: still private
        finally:
            os.umask(old)
        assert target.stat().st_mode & 0o777 == 0o600
        assert target.parent.stat().st_mode & 0o777 == 0o700
        assert target.parent.parent.stat().st_mode & 0o777 == 0o700
        assert (shared / "existing.json").stat().st_mode & 0o777 == 0o600
        assert shared.stat().st_mode & 0o777 == 0o755  # an existing directory keeps its mode
        assert [p.name for p in shared.iterdir()] == ["existing.json"]  # no temp file left
