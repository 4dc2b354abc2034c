"""The service's one `ClockTrust`: which clock stamps points that carry no time of their own.

Shared by the local job, the P1 job and cloud realtime, so any meter source can vouch for (or
against) the host clock. Its floor is the newest meter time the outbox recorded (local meter
clocks and the last P1 telegram), so a restart never accepts a meter time older than what was
already written. The host counts as synchronised when systemd-timesyncd says so: it creates
`/run/systemd/timesync/synchronized` once NTP has set the clock (systemd 239 and later). Other NTP
daemons leave the file absent; the meter clock then decides alone (logger.core.clock_trust).
"""

from __future__ import annotations

import contextlib
from datetime import datetime
from pathlib import Path

from logger.app.local_job import meter_times_from_meta
from logger.config import Settings
from logger.core.clock_trust import ClockTrust
from logger.outbox import Outbox, keys

TIMESYNC_FLAG = Path("/run/systemd/timesync/synchronized")


def host_synchronised(flag: Path = TIMESYNC_FLAG) -> bool:
    try:
        return flag.exists()
    except OSError:  # e.g. a path we may not look into: not known to be synchronised
        return False


def meter_floor(meta: dict[str, str]) -> datetime | None:
    """The newest meter time the outbox holds (local meter clocks, the last P1 telegram)."""
    times = list(meter_times_from_meta(meta).values())
    with contextlib.suppress(ValueError):
        p1 = datetime.fromisoformat(meta.get(keys.P1_LAST_TIME) or "")
        if p1.tzinfo is not None:
            times.append(p1)
    return max(times, default=None)


def make_clock_trust(settings: Settings, outbox: Outbox) -> ClockTrust:
    return ClockTrust(
        floor=meter_floor(outbox.stats().meta),
        host_synchronised=host_synchronised,
        has_meter=settings.local.enabled or settings.p1.enabled,
    )
