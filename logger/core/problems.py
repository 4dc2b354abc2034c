"""Counting and logging bad input without flooding the journal.

Every problem kind (an invalid JSON body from one endpoint, a bad CRC, a payload key that is not a
number) is counted every time and logged the first time, then again only every `every` seconds
with how many happened meanwhile. The counts are what `status` and `check` show.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable


class Problems:
    """Per-kind counters with rate-limited logging."""

    def __init__(
        self,
        logger: logging.Logger,
        every: float = 300.0,
        on_count: Callable[[str, int], None] | None = None,
    ) -> None:
        self._log = logger
        self._every = every
        self._on_count = on_count
        self.counts: Counter[str] = Counter()
        self._last_logged: dict[str, float] = {}
        self._since_logged: Counter[str] = Counter()

    def report(self, kind: str, message: str, *args: object, level: int = logging.WARNING) -> None:
        """Count one occurrence of `kind`; log it if this kind was quiet for a while."""
        self.counts[kind] += 1
        if self._on_count is not None:
            self._on_count(kind, 1)
        now = time.monotonic()
        last = self._last_logged.get(kind)
        if last is not None and now - last < self._every:
            self._since_logged[kind] += 1
            return
        suppressed = self._since_logged.pop(kind, 0)
        suffix = f" ({suppressed} more since the last report)" if suppressed else ""
        self._log.log(level, message + suffix, *args)
        self._last_logged[kind] = now

    def total(self) -> int:
        return sum(self.counts.values())
