"""One source's receive times never repeat and never step back, whichever clock gives them.

A receive-time point's identity is its series and its whole second, so a poll stamped with a
second an earlier poll of the same source already used *replaces* that poll's points in
InfluxDB: a reading lost without an error. The clock rule (`logger.core.clock_trust`) switches
between the host clock and the meter clock's course, and the two differ by up to
`HOST_BOUND_S`: when NTP answers on a Pi without RTC, the course it leaves may lie a second or
more ahead of the host clock it switches to, and the next poll would land on the previous one
(the clock-behind fault scenario caught exactly that, with a poll that APScheduler ran a second
after the previous one when the clock stepped; the service now keeps polls apart, see
`Service.poll_local`, but this rule holds whatever the cadence).

So each source keeps its last stamp, and a stamp at or before it becomes the second after it. The
stamps then run ahead of the clock until it catches up: by one second less than the poll
interval per poll (at the default 5 s interval a 30 s step is absorbed within 8 polls). At a 1 s
interval they can only stay ahead by the step until a poll comes late. A point a few seconds
late beats a point that silently overwrites another.

The last stamp survives a restart (issue 19): the service keeps it in the outbox's meta and
`restore`s it, so a restart right after a clock step back (NTP answering on a Pi) cannot stamp a
poll with a second the previous run already used. A restored stamp further than
`MAX_RESTORED_AHEAD` ahead of the first new moment is dropped (logged): the earlier run's clock
was wrong, and following it would shift every stamp for hours.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from logger.core.logs import get_logger

log = get_logger(__name__)

ONE_SECOND = timedelta(seconds=1)
MAX_RESTORED_AHEAD = timedelta(minutes=10)


class ReceiveSequence:
    """The stamps one source gave its receive-time points, kept strictly increasing."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.last: datetime | None = None
        self._behind = False  # the clock is behind the stamps already given: say it once
        self._restored = False  # `last` came from the previous run, not yet checked

    def restore(self, last: datetime | None) -> None:
        """Continue after the previous run's last stamp (see the module doc)."""
        if last is not None and self.last is None:
            self.last, self._restored = last, True

    def next(self, moment: datetime) -> datetime:
        """The stamp for a poll the clock rule placed at `moment` (a whole second)."""
        if self._restored:
            self._restored = False
            if self.last is not None and self.last - moment > MAX_RESTORED_AHEAD:
                log.info("%s: the previous run's last receive time %s lies more than %s ahead "
                         "of the clock now; it was wrong, and is not followed", self.source,
                         self.last.isoformat(), MAX_RESTORED_AHEAD)
                self.last = None
        if self.last is None or moment > self.last:
            if self._behind:
                log.info("%s receive times follow their clock again", self.source)
                self._behind = False
            self.last = moment
            return moment
        if not self._behind:
            log.info("%s receive time %s is not after the previous poll's %s (the clock that "
                     "stamps them changed or stepped back): each poll takes the second after "
                     "the previous one until the clock catches up, so none overwrites another",
                     self.source, f"{moment:%H:%M:%S}", f"{self.last:%H:%M:%S}")
            self._behind = True
        self.last += ONE_SECOND
        return self.last
