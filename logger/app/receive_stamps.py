"""Each source's last receive stamp, kept in the outbox's meta so a restart continues after it
(`logger.core.receive_sequence`: no second is stamped twice, not even across a restart right
after a clock step back). Shared by the local job and cloud realtime.
"""

from __future__ import annotations

import contextlib
from datetime import datetime

from logger.outbox import Outbox, keys


def stamp_from_meta(outbox: Outbox, source: str) -> datetime | None:
    """The previous run's last receive stamp of `source` (`keys.receive_last`), if any."""
    with contextlib.suppress(TypeError, ValueError):
        return datetime.fromisoformat(outbox.get_meta(keys.receive_last(source)) or "")
    return None


def remember_stamp(outbox: Outbox, source: str, last: datetime | None) -> None:
    if last is not None:
        outbox.set_meta(keys.receive_last(source), last.isoformat())
