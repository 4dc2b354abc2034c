"""What `status` says about the service's life and the cloud: whether the service runs, how
fresh its record is, the cloud's state; recorded here by the service, the cloud jobs and the
backfill, under the meta keys of `logger.outbox.keys` (`SERVICE_*`, `CLOUD_*`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Callable, Iterator

from logger.outbox import Outbox
from logger.outbox.handoff import OutboxHandoff
from logger.outbox.keys import (
    CLOUD_DETAIL,
    CLOUD_STATE,
    CLOUD_STATE_SINCE,
    SERVICE_HEARTBEAT,
    SERVICE_PID,
    SERVICE_STARTED,
    SERVICE_STOPPED,
)

# How old the heartbeat may be while the service runs: the outbox stores meta at least every
# 30 s (logger.outbox.store.META_INTERVAL); three of those allow for a slow disk.
HEARTBEAT_STALE_S = 90.0


def record_start(outbox: Outbox) -> None:
    """The service started: its pid and time, no clean stop yet (stored at once)."""
    now = str(int(time.time()))
    for key, value in ((SERVICE_PID, str(os.getpid())), (SERVICE_STARTED, now),
                       (SERVICE_HEARTBEAT, now), (SERVICE_STOPPED, "")):
        outbox.set_meta(key, value)
    outbox.commit(points=False)


def heartbeat(outbox: Outbox) -> None:
    """Still alive (stored with the next meta commit, at most `META_INTERVAL` later)."""
    outbox.set_meta(SERVICE_HEARTBEAT, str(int(time.time())))


def record_stop(outbox: Outbox) -> None:
    """A clean stop: `status` then says "not running (stopped at ...)", not "crashed?"."""
    outbox.set_meta(SERVICE_STOPPED, str(int(time.time())))
    outbox.commit()


@contextlib.contextmanager
def stop_signals(on_signal: Callable[[int], None]) -> Iterator[None]:
    """SIGTERM and SIGINT call `on_signal(sig)` on the running loop; afterwards the handlers
    from before (asyncio.run's Ctrl-C handler) are back, so a command that goes on after the
    service (the demo) stays interruptible."""
    loop = asyncio.get_running_loop()
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    for sig in previous:
        with contextlib.suppress(NotImplementedError, RuntimeError):  # not the main thread
            loop.add_signal_handler(sig, on_signal, sig)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.remove_signal_handler(sig)
                signal.signal(sig, handler)


def record_cloud(outbox: Outbox | OutboxHandoff | None, state: str, detail: str) -> None:
    """The cloud's state for `status`: "ok", "failing" (it will be tried again) or "stopped"
    (the token was refused: nothing more until a restart with a new one)."""
    if outbox is None:
        return
    if outbox.get_meta(CLOUD_STATE) != state:
        outbox.set_meta(CLOUD_STATE_SINCE, str(int(time.time())))
        outbox.set_meta(CLOUD_STATE, state)
    outbox.set_meta(CLOUD_DETAIL, detail[:300])
