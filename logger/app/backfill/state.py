"""Which gaps were fetched from the cloud, and when: a small JSON file next to the outbox.

Gap detection looks at the local series only, so a repaired gap still looks like a gap; this
record is what makes a second backfill write nothing (see `logger.app.backfill.run`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from logger.core.logs import get_logger
from logger.sink.gaps import Gap

log = get_logger(__name__)

STATE_FILE = "backfill-state.json"


class BackfillState:
    """Which gaps were fetched, and when (a small JSON file, rewritten atomically)."""

    def __init__(self, path: Path, installation: str) -> None:
        self.path = path
        self.installation = installation
        self._all: dict[str, list[list[int]]] = {}
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(data, dict) and isinstance(data.get("installations"), dict):
                self._all = data["installations"]
        except FileNotFoundError:
            pass
        except (OSError, ValueError) as exc:
            log.warning("backfill state %s unreadable (%s); starting afresh", path, exc)
        self.records: list[list[int]] = [
            r for r in self._all.get(installation, [])
            if isinstance(r, list) and len(r) == 3 and all(isinstance(x, int) for x in r)
        ]

    def covers(self, gap: Gap, now: int, recheck: int) -> bool:
        """A record contains the gap and is not due for the recent-data recheck."""
        for start, end, fetched in self.records:
            if start <= gap.start and gap.end <= end:
                provisional = fetched < end + recheck
                if not (provisional and now >= end + recheck):
                    return True
        return False

    def record(self, gap: Gap, fetched_at: int) -> None:
        self.records = [r for r in self.records if not (gap.start <= r[0] and r[1] <= gap.end)]
        self.records.append([gap.start, gap.end, fetched_at])

    def save(self, keep_after: int) -> None:
        self.records = sorted(r for r in self.records if r[1] >= keep_after)
        self._all[self.installation] = self.records
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"version": 1, "installations": self._all}), encoding="utf-8")
        os.replace(tmp, self.path)
