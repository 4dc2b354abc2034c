"""systemd's notify protocol without a C extension, and the service's watchdog.

`sd_notify(3)` is one datagram of `KEY=value` lines to the AF_UNIX socket named in
`$NOTIFY_SOCKET` (a path, or an abstract name written with a leading `@`). With the variable unset
(not under systemd, or not `Type=notify`) everything here is a no-op.

What the service sends (see `Supervisor`):
- `READY=1` once the configuration is valid and the outbox is open (`Type=notify`);
- `STATUS=...` every few seconds, e.g. "polling local every 5 s; outbox 12 waiting; last write
  3 s ago", shown by `systemctl status`;
- `WATCHDOG=1` every `$WATCHDOG_USEC / 2`, from a coroutine on the event loop, and only while the
  service is healthy (see `health_problem`); `STOPPING=1` at shutdown.

What "healthy" means is `logger.app.health`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
from collections.abc import Callable
from typing import Any

from logger.app.health import health_problem, status_line
from logger.core.logs import get_logger

log = get_logger(__name__)

STATUS_EVERY = 10.0  # at least this often
STATUS_MIN_GAP = 2.0  # and when it changed, but not more often than this


def _address(value: str | None) -> str | bytes | None:
    if not value:
        return None
    if value.startswith("@"):
        return "\0" + value[1:]  # abstract namespace
    if value.startswith("/"):
        return value
    return None  # e.g. vsock: addresses (newer systemd, VMs): not supported here


class Notifier:
    """Sends notify messages to `$NOTIFY_SOCKET` (read once, at construction)."""

    def __init__(self, socket_name: str | None = None) -> None:
        name = os.environ.get("NOTIFY_SOCKET") if socket_name is None else socket_name
        self.address = _address(name)
        if name and self.address is None:
            log.warning("NOTIFY_SOCKET=%r is not a unix socket; not notifying systemd", name)
        self._socket: socket.socket | None = None

    @property
    def enabled(self) -> bool:
        return self.address is not None

    def send(self, *lines: str) -> bool:
        """One datagram with `lines`; False (never an exception) when it could not be sent."""
        if self.address is None:
            return False
        payload = "\n".join(lines).encode("utf-8", "replace")
        try:
            if self._socket is None:
                self._socket = socket.socket(
                    socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC
                )
            self._socket.sendto(payload, self.address)
        except OSError as exc:
            log.debug("sd_notify %r failed: %s", lines, exc)
            self.close()
            return False
        return True

    def ready(self, status: str | None = None) -> bool:
        return self.send("READY=1", *([f"STATUS={status}"] if status else []))

    def status(self, text: str) -> bool:
        return self.send(f"STATUS={text}")

    def watchdog(self) -> bool:
        return self.send("WATCHDOG=1")

    def stopping(self, status: str | None = None) -> bool:
        return self.send("STOPPING=1", *([f"STATUS={status}"] if status else []))

    def close(self) -> None:
        if self._socket is not None:
            with contextlib.suppress(OSError):
                self._socket.close()
            self._socket = None


def notify(*lines: str) -> bool:
    """Send one message to `$NOTIFY_SOCKET`; a no-op returning False when it is unset."""
    notifier = Notifier()
    try:
        return notifier.send(*lines)
    finally:
        notifier.close()


def watchdog_interval() -> float | None:
    """Seconds between WATCHDOG=1 pings (half of `$WATCHDOG_USEC`), or None when not asked.

    Honours `$WATCHDOG_PID`: the pings are for that process only.
    """
    usec = os.environ.get("WATCHDOG_USEC")
    if not usec:
        return None
    pid = os.environ.get("WATCHDOG_PID")
    if pid and pid.strip() != str(os.getpid()):
        return None
    try:
        value = int(usec)
    except ValueError:
        return None
    return value / 2 / 1_000_000 if value > 0 else None


class Supervisor:
    """READY/STATUS/WATCHDOG/STOPPING for one service, from a task on its event loop."""

    def __init__(
        self,
        service: Any,
        notifier: Notifier | None = None,
        problem: Callable[[Any], str | None] = health_problem,
    ) -> None:
        self.service = service
        self.notifier = notifier or Notifier()
        self.interval = watchdog_interval()
        self._problem = problem
        self._task: asyncio.Task[None] | None = None
        self.pings = 0

    def ready(self) -> None:
        if self.notifier.enabled:
            self.notifier.ready(status_line(self.service))

    def start(self) -> None:
        if self.notifier.enabled and self._task is None:
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name="systemd-notify"
            )

    async def _run(self) -> None:
        tick = min(self.interval, STATUS_EVERY) if self.interval else STATUS_EVERY
        last_status_at = float("-inf")
        last_status = ""
        last_problem: str | None = None
        while True:
            problem = self._problem(self.service)
            if problem is None:
                if self.interval:
                    self.notifier.watchdog()
                    self.pings += 1
                if last_problem is not None:
                    log.warning("healthy again; watchdog pings resume")
            elif problem != last_problem:
                log.error(
                    "%s; %s", problem,
                    "no more watchdog pings, so systemd restarts the service"
                    if self.interval else "(no systemd watchdog configured)",
                )
            now = time.monotonic()
            text = f"UNHEALTHY: {problem}" if problem else status_line(self.service)
            since = now - last_status_at
            if (
                problem != last_problem
                or since >= STATUS_EVERY
                or (text != last_status and since >= STATUS_MIN_GAP)
            ):
                self.notifier.status(text)
                last_status, last_status_at = text, now
            last_problem = problem
            await asyncio.sleep(tick)

    async def stop(self, status: str = "stopping: flushing the outbox") -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self.notifier.stopping(status)
        self.notifier.close()

    def close(self) -> None:
        self.notifier.close()
