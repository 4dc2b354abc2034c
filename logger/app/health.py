"""Is the service healthy? One rule, read by the systemd watchdog (and anything else that asks).

What "healthy" means, precisely. The watchdog pings stop, so that systemd restarts the service
(`WatchdogSec=` + `Restart=on-failure`), when any of these holds:
1. the event loop is stuck: then the pinging coroutine itself does not run;
2. the scheduler is no longer running;
3. the writer is wedged: one flush (a drain of the outbox into InfluxDB) has been in flight for
   longer than `WEDGE_FACTOR x [influx] timeout + WEDGE_GRACE` seconds. A normal flush is bounded
   by its own deadline (2 x timeout) plus one request (each request has the timeout), so only a
   request that never ends (a server trickling bytes, a stuck worker thread) gets there;
4. the outbox is not committing: no successful commit for `max(COMMIT_STALL_MIN, 10 x [outbox]
   commit_interval)` seconds, and no commit even tried (the commit job stopped running).
An InfluxDB that is down, refuses writes or is not yet migrated is NOT a wedge: writes fail fast,
points wait in the outbox, and that is the logger doing its job.

Commits that are tried and fail (the SD card full or read-only) are not a reason to restart
either: a restart frees no disk and would lose every point waiting in memory, which InfluxDB
may still take. `/healthz` answers 503 for them (`storage_problem`), and 200 `degraded: ...` for
an optional feature that is off (`degraded`, logger/app/features.py): logging goes on.
"""

from __future__ import annotations

import time
from typing import Any

from logger.core.durations import ago

WEDGE_FACTOR = 3.0
WEDGE_GRACE = 5.0
COMMIT_STALL_MIN = 30.0


def health_problem(service: Any, now: float | None = None) -> str | None:
    """None while the service is healthy; otherwise why it is not (see the module docstring).

    `service` is a `logger.app.service.Service`; read: `scheduler`, `flush_started_at` and
    `last_commit_ok` (time.monotonic() values, None when not set), `settings`.
    """
    now = time.monotonic() if now is None else now
    scheduler = getattr(service, "scheduler", None)
    if scheduler is not None and not scheduler.running:
        return "the scheduler is not running"
    started = getattr(service, "flush_started_at", None)
    limit = WEDGE_FACTOR * service.settings.influx.timeout + WEDGE_GRACE
    if started is not None and now - started > limit:
        return (
            f"the InfluxDB writer is wedged: one flush has been in flight for "
            f"{now - started:.0f} s (limit {limit:.0f} s = {WEDGE_FACTOR:g} x [influx] timeout "
            f"+ {WEDGE_GRACE:g} s)"
        )
    committed = getattr(service, "last_commit_ok", None)
    attempted = getattr(service, "last_commit_attempt", None)
    stall = max(COMMIT_STALL_MIN, 10 * service.settings.outbox.commit_interval)
    if committed is not None and now - committed > stall:
        failing = getattr(service.outbox, "commit_failing", None)
        if failing is None or attempted is None or now - attempted > stall:
            return (f"the outbox has not committed for {now - committed:.0f} s (limit "
                    f"{stall:.0f} s)")
    return None


def storage_problem(service: Any) -> str | None:
    """Why the outbox cannot commit to disk now (disk full, read-only), or None."""
    failing = getattr(service.outbox, "commit_failing", None)
    if failing is None:
        return None
    return (f"the outbox cannot commit to disk ({failing}): {service.outbox.pending} points wait "
            "in memory, InfluxDB still receives them")


def degraded(service: Any) -> dict[str, str]:
    """The optional features that are off, and why (logger/app/features.py)."""
    features = getattr(service, "features", None)
    return dict(features.off) if features is not None else {}


def status_line(service: Any) -> str:
    """What the service is doing, for `systemctl status`."""
    parts = []
    settings = service.settings
    if getattr(service, "local", None) is not None:
        parts.append(f"polling local every {settings.local.interval:g} s")
    try:
        depth = service.outbox.depth()
        parts.append(f"outbox {depth} waiting")
    except Exception:  # the outbox is closing: leave it out
        pass
    if settings.influx.configured:
        delivery = getattr(service, "delivery", None)
        last = getattr(delivery, "last_success", None)
        if last is not None:
            parts.append(f"last write {ago(time.time() - last)}")
        else:
            parts.append("no write yet")
        gate = getattr(service, "sink", None)
        if gate is not None and not gate.ready:
            parts.append(f"InfluxDB: {gate.state}, holding writes")
        elif delivery is not None and not delivery.healthy:
            parts.append("InfluxDB failing, buffering")
    else:
        parts.append("no InfluxDB: keeping points in the outbox")
    return "; ".join(parts)
