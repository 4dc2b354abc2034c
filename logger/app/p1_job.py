"""The P1 stream as the service runs it: a supervised reader task feeding the outbox.

The source (`logger.sources.p1`) only turns bytes into points; here they go into the outbox, and
the link state, the telegram rate and the counters go into the outbox's meta table, where
`status` reads them. A supervisor job restarts the reader task if it ever dies.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime

from logger.app.alerts import CaptarConsent, ClockSkew
from logger.config import Settings
from logger.core.clock_trust import ClockTrust
from logger.core.logs import get_logger
from logger.core.point import Point
from logger.core.problems import Problems
from logger.outbox import Outbox, keys
from logger.sources.p1.decoder import P1Decoder
from logger.sources.p1.points import P1Reading
from logger.sources.p1.reader import P1Reader

log = get_logger(__name__)

IMPLAUSIBLE_TIME = "p1_implausible_time"  # problem kind: a telegram time the clock rule refused


class P1Job:
    """The P1 reader as a supervised task writing into the outbox."""

    def __init__(self, settings: Settings, outbox: Outbox, clock: ClockTrust | None = None,
                 after_put: Callable[[], object] | None = None) -> None:
        p1 = settings.p1
        self.outbox = outbox
        self.after_put = after_put  # the service delivers new points at once (nudge_flush)
        self.tap: Callable[[list[Point]], None] | None = None  # side outputs (mqtt_job.py)
        self.problems = Problems(log, on_count=outbox.count)
        self.clock = clock
        last = outbox.get_meta(keys.P1_LAST_TIME)
        last_time = None
        if last:
            with contextlib.suppress(ValueError):
                last_time = datetime.fromisoformat(last)
        self.decoder = P1Decoder(
            settings.installation,
            p1.every,
            self.problems,
            last_time=last_time,
            on_valid=self._on_valid,
            accept=self._accept,
        )
        self.reader = P1Reader(
            p1.host,
            p1.port,
            self.decoder,
            self._emit,
            idle_timeout=p1.idle_timeout,
            on_state=self._on_state,
        )
        self.task: asyncio.Task[None] | None = None
        self.consent = CaptarConsent(outbox)  # warnings that matter, see logger/app/alerts.py
        self.skew = ClockSkew(outbox, "P1")  # the host clock against the meter's, warned
        self.last_valid_at: float | None = None  # time.monotonic() of the last valid telegram
        self.restarts = 0
        self._recent: deque[float] = deque()
        outbox.set_meta(keys.P1_ADDRESS, self.reader.address)

    def _emit(self, points: list[Point]) -> None:
        self.outbox.put(points, source="p1")
        if points and self.after_put is not None:
            self.after_put()
        if points and self.tap is not None:  # after the outbox: it has them first
            self.tap(points)

    def _accept(self, reading: P1Reading) -> bool:
        """A telegram's time is a meter time: judged (and followed) by the shared clock rule."""
        if self.clock is None:
            return True
        refused = self.clock.observe(reading.time, time.monotonic(), datetime.now(UTC))
        if refused is None:
            return True
        self.problems.report(IMPLAUSIBLE_TIME, "P1: telegram time %s refused (%s); skipped",
                             reading.time.isoformat(), refused)
        return False

    def _on_valid(self, reading: P1Reading) -> None:
        self.outbox.count(keys.P1_TELEGRAMS)
        self.outbox.set_meta(keys.P1_LAST_TIME, reading.time.isoformat())
        now = time.monotonic()
        self.last_valid_at = now
        self._recent.append(now)
        self._trim_rate(now)
        fields = reading.point.field_dict if reading.point is not None else {}
        self.consent.observe("captar_month_max_w" in fields)
        self.skew.observe(reading.time, datetime.now(UTC))

    def _trim_rate(self, now: float) -> None:
        while self._recent and self._recent[0] < now - 60:
            self._recent.popleft()

    def telegrams_per_minute(self) -> int:
        self._trim_rate(time.monotonic())
        return len(self._recent)

    def _on_state(self, state: str, detail: str) -> None:
        if self.outbox.get_meta(keys.P1_STATE) != state:
            self.outbox.set_meta(keys.P1_STATE_SINCE,
                                 datetime.now(UTC).isoformat(timespec="seconds"))
        self.outbox.set_meta(keys.P1_STATE, state)
        self.outbox.set_meta(keys.P1_DETAIL, detail)

    async def supervise(self) -> None:
        """The scheduler's job: (re)start the reader task when it is not running."""
        task = self.task
        if task is not None and not task.done():
            self.outbox.set_meta(keys.P1_RATE, str(self.telegrams_per_minute()))
            return
        if task is not None:
            self.restarts += 1
            self.outbox.count(keys.P1_READER_RESTARTS)
            error = None if task.cancelled() else task.exception()
            log.error(
                "P1: reader stopped (%s); restarting it",
                f"{type(error).__name__}: {error}" if error else "cancelled",
            )
        self.task = asyncio.create_task(self.reader.run(), name="p1-reader")
        self.outbox.set_meta(keys.P1_RATE, str(self.telegrams_per_minute()))

    async def stop(self) -> None:
        task, self.task = self.task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._on_state("stopped", "")
        self.outbox.set_meta(keys.P1_RATE, "0")
