"""Which gaps were fetched from the cloud, and when; which failed, and when to try them again.

A small JSON file next to the outbox (mode 0600, `logger.core.files.write_private`). Gap
detection looks at the local series only, so a repaired gap still looks like a gap; the
`fetched` records are what make a second backfill write nothing (see `logger.app.backfill.run`).

A gap is recorded as fetched only when every day it covers gave a grid history that was
understood. Otherwise it is recorded as `failing`: how often, why, and not before when to try it
again. The wait is the one retry policy (`logger.core.backoff.Backoff`: the first retry after
about one backfill interval, then doubling, at most a week), so a day the cloud will never have
costs a few calls a week instead of four every hour forever. The scheduled job respects the
wait; `jullix-logger backfill` by hand tries every gap (someone asked for it now), and both
record the outcome. `jullix-logger status` lists the gaps that wait.

Format (version 2; version 1 held only the fetched list per installation):

    {"version": 2, "installations": {"home": {
        "fetched": [[start, end, fetched_at], ...],
        "failing": [[start, end, failures, next_try, "reason"], ...]}}}
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

from logger.core.backoff import Backoff
from logger.core.files import write_private
from logger.core.logs import get_logger
from logger.sink.gaps import Gap

log = get_logger(__name__)

STATE_FILE = "backfill-state.json"
RETRY_MAX = 7 * 86400.0


@dataclass
class Failure:
    """A gap whose last fetch did not complete."""

    gap: Gap
    failures: int
    next_try: int  # epoch seconds
    reason: str

    def as_list(self) -> list[object]:
        return [self.gap.start, self.gap.end, self.failures, self.next_try, self.reason]


def _ints(row: object, n: int) -> bool:
    return (isinstance(row, list) and len(row) >= n
            and all(isinstance(x, int) and not isinstance(x, bool) for x in row[:n]))


class BackfillState:
    """The state file of one installation (see the module doc)."""

    def __init__(self, path: Path, installation: str, retry_first: float = 3600.0,
                 retry_max: float = RETRY_MAX, rng: random.Random | None = None) -> None:
        self.path = path
        self.installation = installation
        self.retry_first = max(1.0, retry_first)
        self.retry_max = max(self.retry_first, retry_max)
        self.rng = rng
        self._all: dict[str, object] = {}
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(data, dict) and isinstance(data.get("installations"), dict):
                self._all = data["installations"]
        except FileNotFoundError:
            pass
        except (OSError, ValueError) as exc:
            log.warning("backfill state %s unreadable (%s); starting afresh", path, exc)
        mine = self._all.get(installation)
        if isinstance(mine, list):  # version 1
            mine = {"fetched": mine}
        if not isinstance(mine, dict):
            mine = {}
        fetched, failing = mine.get("fetched"), mine.get("failing")
        self.records: list[list[int]] = [
            r[:3] for r in (fetched if isinstance(fetched, list) else []) if _ints(r, 3)]
        self.failing: dict[Gap, Failure] = {}
        for r in failing if isinstance(failing, list) else []:
            if _ints(r, 4) and len(r) == 5 and isinstance(r[4], str):
                gap = Gap(r[0], r[1])
                self.failing[gap] = Failure(gap, r[2], r[3], r[4])

    def covers(self, gap: Gap, now: int, recheck: int) -> bool:
        """A record contains the gap and is not due for the recent-data recheck."""
        for start, end, fetched in self.records:
            if start <= gap.start and gap.end <= end:
                provisional = fetched < end + recheck
                if not (provisional and now >= end + recheck):
                    return True
        return False

    def record(self, gap: Gap, fetched_at: int) -> None:
        """The gap was fetched completely."""
        self.failing.pop(gap, None)
        self.records = [r for r in self.records if not (gap.start <= r[0] and r[1] <= gap.end)]
        self.records.append([gap.start, gap.end, fetched_at])

    def failed(self, gap: Gap, now: int, reason: str) -> Failure:
        """The gap's fetch did not complete: count it and set when to try again."""
        before = self.failing.get(gap)
        backoff = Backoff(self.retry_first, self.retry_max, self.rng)
        backoff.failures = before.failures if before else 0
        delay = backoff.next_delay()  # counts this failure
        failure = Failure(gap, backoff.failures, now + int(delay), reason)
        self.failing[gap] = failure
        return failure

    def waiting(self, gap: Gap, now: int) -> Failure | None:
        """The failure record of a gap that must not be tried before a later time."""
        failure = self.failing.get(gap)
        return failure if failure is not None and now < failure.next_try else None

    def forget(self, start: int, end: int) -> int:
        """Drop every record touching [start, end) (after `backfill --undo`); how many."""
        before = len(self.records) + len(self.failing)
        self.records = [r for r in self.records if r[1] <= start or r[0] >= end]
        self.failing = {g: f for g, f in self.failing.items() if g.end <= start or g.start >= end}
        return before - len(self.records) - len(self.failing)

    def save(self, keep_after: int | None = None) -> None:
        """Write the file; records of gaps that ended before `keep_after` are dropped."""
        oldest = keep_after if keep_after is not None else -(2**62)
        self.records = sorted(r for r in self.records if r[1] >= oldest)
        failing = sorted((f for f in self.failing.values() if f.gap.end >= oldest),
                         key=lambda f: f.gap)
        self._all[self.installation] = {"fetched": self.records,
                                        "failing": [f.as_list() for f in failing]}
        write_private(self.path, json.dumps({"version": 2, "installations": self._all}))


def failing_gaps(path: Path, installation: str) -> list[Failure]:
    """The failing gaps of an installation, soonest retry first (for `status`)."""
    state = BackfillState(path, installation)
    return sorted(state.failing.values(), key=lambda f: (f.next_try, f.gap))
