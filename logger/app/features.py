"""The optional features as the service sees them: on, or off with the one line why.

The ledger today (its retention policy missing or forbidden, its migration failing); any other
optional feature (cloud, MQTT, day-ahead prices) reports here the same way. A feature that is
off never stops raw logging (issue 19); it is said where people look: `status` (from the
outbox's meta `feature.<name>`, so it works from another process), `/metrics`
(`jullix_feature_off`), `/healthz` (200 `degraded: ...`) and `_jullix_health`. The journal
line is the reporting component's own (said once per reason), so it is not repeated here.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Mapping

from logger.outbox import Outbox, keys


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
